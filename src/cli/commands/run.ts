import { defineCommand } from "citty";
import { createArgs, preserveFds } from "../args";
import { cli } from "../context";
import { runContainer } from "../../runtime/run";
import { runFromRootfs } from "../../runtime/oneshot";
import { BuncError } from "../../runtime/errors";
import { validateId } from "../../runtime/state";
import { logDebug, logWarn } from "../log";

export default defineCommand({
  meta: { name: "run", description: "create and start a container; wait for it unless --detach" },
  args: {
    id: { type: "positional", description: "container id (optional with --rootfs)", required: false },
    ...createArgs,
    rootfs: { type: "string", description: "run `-- <cmd>` in a fresh container from a rootfs tarball, rootfs dir or bundle, removed afterwards" },
    rm: { type: "boolean", description: "remove the container when it exits (the default; kept for docker-like use)" },
    tty: { type: "boolean", alias: "t", description: "with --rootfs: give the command a terminal" },
    detach: { type: "boolean", alias: "d", description: "do not wait for the container" },
    keep: { type: "boolean", description: "do not delete the container after it exits" },
  },
  async run({ args, rawArgs }) {
    if (args.rootfs) {
      const dashes = rawArgs.indexOf("--");
      cli.exitCode = await runFromRootfs({
        root: cli.globals.root, source: args.rootfs, id: args.id ? validateId(args.id) : undefined,
        args: dashes < 0 ? [] : rawArgs.slice(dashes + 1), tty: args.tty, detach: args.detach, warn: logWarn, debug: logDebug,
      });
      return;
    }
    if (!args.id) throw new BuncError("run: a container id is required (or --rootfs <tarball> -- <cmd>)");
    cli.exitCode = await runContainer({
      root: cli.globals.root, id: validateId(args.id), bundle: args.bundle, pidFile: args["pid-file"],
      consoleSocket: args["console-socket"], pidfdSocket: args["pidfd-socket"], noPivot: args.pivot === false, noNewKeyring: args["new-keyring"] === false,
      preserveFds: preserveFds(args["preserve-fds"]), detach: args.detach, keep: args.keep, warn: logWarn, debug: logDebug,
    });
  },
});
