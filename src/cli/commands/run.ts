import { defineCommand } from "../fast-args";
import { createArgs, preserveFds, repeatedValues, requireBundle } from "../args";
import { cli } from "../context";
import { runContainer } from "../../runtime/run";
import { BuncError } from "../../sys/errors";
import { validateId } from "../../runtime/state";
import type { SplitArgv } from "../dispatch";
import { preloadEmbedded } from "../../sys/embedded";
import { holdSignals } from "../../runtime/wait";

// docker's names for the one-shot's options (repeatable ones are read from argv by repeatedValues).
const ONE_SHOT_ARGS = {
  volume: { type: "string", alias: "v", valueHint: "SRC:DST[:ro]", description: "with --rootfs: bind-mount SRC (relative: from the current directory) at DST; repeatable" },
  tmpfs: { type: "string", valueHint: "DST[:size=64m]", description: "with --rootfs: a tmpfs at DST; repeatable" },
  env: { type: "string", alias: "e", valueHint: "KEY=VAL", description: "with --rootfs: set a variable (KEY alone: bunc's value); repeatable" },
  "env-file": { type: "string", valueHint: "file", description: "with --rootfs: variables from a file of KEY=VAL lines; repeatable" },
  workdir: { type: "string", alias: "w", valueHint: "dir", description: "with --rootfs: the command's working directory" },
  user: { type: "string", alias: "u", valueHint: "uid[:gid]", description: "with --rootfs: run as this user (and group)" },
  net: { type: "string", alias: "network", valueHint: "host|none", description: "with --rootfs: none (default: only lo) or host (the host's network, resolv.conf and hosts)" },
  memory: { type: "string", alias: "m", valueHint: "64m", description: "with --rootfs: memory limit" },
  cpus: { type: "string", valueHint: "0.5", description: "with --rootfs: CPU limit, in CPUs" },
  "pids-limit": { type: "string", valueHint: "n", description: "with --rootfs: the most processes at once" },
  "read-only": { type: "boolean", description: "with --rootfs: a read-only root filesystem" },
  interactive: { type: "boolean", alias: "i", description: "with --rootfs: keep stdin open (without: /dev/null)" },
  name: { type: "string", valueHint: "id", description: "with --rootfs: the container id" },
} as const;

const RUN_ARGS = {
  id: { type: "positional", description: "container id (optional with --rootfs: a unique bunc-<random> one)", required: false },
  ...createArgs,
  rootfs: { type: "string", alias: "image", valueHint: "path", description: "run `-- <cmd>` in a fresh container from an image (OCI layout dir, OCI or docker archive; PATH:TAG picks a tag), a rootfs tarball, rootfs dir or bundle, removed afterwards (--image: the same)" },
  rm: { type: "boolean", description: "remove the container when it exits (the default; kept for docker-like use)" },
  tty: { type: "boolean", alias: "t", description: "with --rootfs: give the command a terminal (a bundle's is process.terminal)" },
  detach: { type: "boolean", alias: "d", description: "do not wait for the container" },
  // citty reads --no-subreaper as subreaper=false (runc's flag).
  subreaper: { type: "boolean", default: true, description: "in the foreground, reap the orphans of a container without its own PID namespace", negativeDescription: "leave a container's orphans to the host's init (runc's --no-subreaper)" },
  keep: { type: "boolean", description: "do not delete the container after it exits" },
  ...ONE_SHOT_ARGS,
} as const;

export default defineCommand({
  meta: {
    name: "run", description: "create and start a container; wait for it unless --detach",
    usage: ["[options] <id>", "--rootfs|--image <image[:tag]|tarball|dir> [-i] [-t] [-v SRC:DST[:ro]] [-e K=V] [options] [id] -- <cmd> [args...]"], commandAfterDashes: true,
  } as any,
  args: RUN_ARGS,
  async run({ args, data }) {
    // Detached, as runc: no signal ends it halfway (runtime/wait.ts); in the foreground runContainer forwards them.
    const held = args.detach ? holdSignals() : undefined;
    try {
      await preloadEmbedded(); // the native init's and nsexec's bytes without node:fs (sys/embedded.ts)
      const command = (data as SplitArgv).command; // everything after `--`: never bunc's
      const own = (data as SplitArgv).own;
      if (args.rootfs) {
        // Loaded only here: a bundle's run never loads the one-shot's modules.
        const { planOneShot, CLI_LABELS } = await import("../../runtime/oneshot-options");
        const { runFromRootfs } = await import("../../runtime/oneshot");
        const many = (n: string) => repeatedValues(own, RUN_ARGS as any, n);
        const plan = planOneShot({
          mounts: many("volume"), tmpfs: many("tmpfs"), envFiles: many("env-file"), env: many("env"),
          cwd: args.workdir, user: args.user, network: args.net as any, readOnly: args["read-only"] || undefined,
          resources: { memory: args.memory, cpus: args.cpus, pids: args["pids-limit"] },
        }, CLI_LABELS);
        if (args.name !== undefined && args.id !== undefined && args.name !== args.id) throw new BuncError(`--name ${args.name}: the container id is already ${args.id}`);
        if (args.name !== undefined) {
          try {
            validateId(args.name);
          } catch (e: any) {
            throw new BuncError(`--name ${args.name}: ${e.message.replace(/^invalid container id "[^"]*": /, "not a container id: ")}`);
          }
        }
        const id = args.name ?? args.id;
        cli.exitCode = await runFromRootfs(cli.runtime, {
          source: args.rootfs, id: id !== undefined ? validateId(id) : undefined,
          args: command, tty: args.tty, detach: args.detach, plan, interactive: args.interactive,
        });
        return;
      }
      const given = Object.keys(ONE_SHOT_ARGS).find((k) => (args as any)[k] !== undefined && (args as any)[k] !== false);
      if (given) throw new BuncError(`run: --${given} needs --rootfs/--image (a bundle's settings are in its config.json)`);
      // runc's `run [flags] -- <id>`: without --rootfs, a lone word after `--` is the id.
      const id = args.id ?? (command.length === 1 ? command.pop() : undefined);
      if (!id) throw new BuncError("run: a container id is required (or --rootfs <tarball> -- <cmd>)");
      // runc's run has no -t: a bundle's terminal is process.terminal in its config.json.
      if (args.tty) throw new BuncError("run: -t/--tty only applies with --rootfs; for a bundle set process.terminal in config.json");
      if (command.length) throw new BuncError("run: a command after `--` needs --rootfs (a bundle's command is process.args in config.json)");
      cli.exitCode = await runContainer(cli.runtime, {
        id: validateId(id), bundle: requireBundle(args.bundle), pidFile: args["pid-file"],
        consoleSocket: args["console-socket"], pidfdSocket: args["pidfd-socket"], noPivot: args.pivot === false, noNewKeyring: args["new-keyring"] === false,
        preserveFds: preserveFds(args["preserve-fds"]), detach: args.detach, keep: args.keep, subreaper: args.subreaper !== false,
        notifySocket: process.env.NOTIFY_SOCKET || undefined,
      });
    } finally {
      held?.stop();
    }
  },
});
