import { defineCommand } from "../fast-args";
import { idArg } from "../args";
import { cli } from "../context";
import { pauseContainer } from "../../runtime/pause";

export default defineCommand({
  meta: { name: "pause", description: "freeze every process of a container" },
  args: { ...idArg },
  run({ args }) {
    pauseContainer(cli.runtime, args.id);
  },
});
