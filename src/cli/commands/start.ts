import { defineCommand } from "../fast-args";
import { idArg } from "../args";
import { cli } from "../context";
import { startContainer } from "../../runtime/start";

export default defineCommand({
  meta: { name: "start", description: "run the user's program in a created container" },
  args: { ...idArg },
  run({ args }) {
    startContainer(cli.runtime, args.id);
  },
});
