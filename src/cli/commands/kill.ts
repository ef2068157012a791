import { defineCommand } from "../fast-args";
import { idArg } from "../args";
import { cli } from "../context";
import { killContainer } from "../../runtime/kill";
import { parseSignal } from "../../runtime/signals";

export default defineCommand({
  meta: { name: "kill", description: "send a signal (default TERM) to a container's init" },
  args: {
    ...idArg,
    signal: { type: "positional", description: "signal name (KILL, SIGKILL) or number", required: false },
    all: { type: "boolean", alias: "a", description: "send it to every process of the container" },
  },
  run({ args }) {
    killContainer(cli.runtime, args.id, parseSignal(args.signal), args.all);
  },
});
