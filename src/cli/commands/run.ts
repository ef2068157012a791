import { defineCommand } from "citty";
import { createArgs, idArg, preserveFds } from "../args";
import { cli } from "../context";
import { runContainer } from "../../runtime/run";
import { validateId } from "../../runtime/state";
import { logWarn } from "../log";

export default defineCommand({
  meta: { name: "run", description: "create and start a container; wait for it unless --detach" },
  args: {
    ...idArg, ...createArgs,
    detach: { type: "boolean", alias: "d", description: "do not wait for the container" },
    keep: { type: "boolean", description: "do not delete the container after it exits" },
  },
  async run({ args }) {
    cli.exitCode = await runContainer({
      root: cli.globals.root, id: validateId(args.id), bundle: args.bundle, pidFile: args["pid-file"],
      consoleSocket: args["console-socket"], noPivot: args["no-pivot"], noNewKeyring: args["no-new-keyring"],
      preserveFds: preserveFds(args["preserve-fds"]), detach: args.detach, keep: args.keep, warn: logWarn,
    });
  },
});
