import { defineCommand } from "citty";
import { idArg } from "../args";
import { cli } from "../context";
import { startContainer } from "../../runtime/start";
import { debugLog, logWarn } from "../log";

export default defineCommand({
  meta: { name: "start", description: "run the user's program in a created container" },
  args: { ...idArg },
  run({ args }) {
    startContainer(cli.globals.root, args.id, logWarn, debugLog());
  },
});
