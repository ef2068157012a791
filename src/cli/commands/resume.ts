import { defineCommand } from "../fast-args";
import { idArg } from "../args";
import { cli } from "../context";
import { resumeContainer } from "../../runtime/pause";

export default defineCommand({
  meta: { name: "resume", description: "thaw a paused container" },
  args: { ...idArg },
  run({ args }) {
    resumeContainer(cli.runtime, args.id);
  },
});
