import { defineCommand } from "citty";
import { createArgs, preserveFds, requireBundle } from "../args";
import { cli } from "../context";
import { runContainer } from "../../runtime/run";
import { runFromRootfs } from "../../runtime/oneshot";
import { BuncError } from "../../sys/errors";
import { validateId } from "../../runtime/state";
import type { SplitArgv } from "../dispatch";

export default defineCommand({
  meta: {
    name: "run", description: "create and start a container; wait for it unless --detach",
    usage: ["[options] <id>", "--rootfs <tarball|dir> [-t] [id] -- <cmd> [args...]"], commandAfterDashes: true,
  } as any,
  args: {
    id: { type: "positional", description: "container id (optional with --rootfs: a unique bunc-<random> one)", required: false },
    ...createArgs,
    rootfs: { type: "string", valueHint: "path", description: "run `-- <cmd>` in a fresh container from a rootfs tarball, rootfs dir or bundle, removed afterwards" },
    rm: { type: "boolean", description: "remove the container when it exits (the default; kept for docker-like use)" },
    tty: { type: "boolean", alias: "t", description: "with --rootfs: give the command a terminal (a bundle's is process.terminal)" },
    detach: { type: "boolean", alias: "d", description: "do not wait for the container" },
    keep: { type: "boolean", description: "do not delete the container after it exits" },
  },
  async run({ args, data }) {
    const command = (data as SplitArgv).command; // everything after `--`: never bunc's
    if (args.rootfs) {
      cli.exitCode = await runFromRootfs(cli.runtime, {
        source: args.rootfs, id: args.id ? validateId(args.id) : undefined,
        args: command, tty: args.tty, detach: args.detach,
      });
      return;
    }
    // runc's `run [flags] -- <id>`: without --rootfs, a lone word after `--` is the id.
    const id = args.id ?? (command.length === 1 ? command.pop() : undefined);
    if (!id) throw new BuncError("run: a container id is required (or --rootfs <tarball> -- <cmd>)");
    // runc's run has no -t: a bundle's terminal is process.terminal in its config.json.
    if (args.tty) throw new BuncError("run: -t/--tty only applies with --rootfs; for a bundle set process.terminal in config.json");
    if (command.length) throw new BuncError("run: a command after `--` needs --rootfs (a bundle's command is process.args in config.json)");
    cli.exitCode = await runContainer(cli.runtime, {
      id: validateId(id), bundle: requireBundle(args.bundle), pidFile: args["pid-file"],
      consoleSocket: args["console-socket"], pidfdSocket: args["pidfd-socket"], noPivot: args.pivot === false, noNewKeyring: args["new-keyring"] === false,
      preserveFds: preserveFds(args["preserve-fds"]), detach: args.detach, keep: args.keep,
    });
  },
});
