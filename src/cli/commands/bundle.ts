// bunc bundle <tarball> <dir>: unpack a rootfs tarball into <dir>/rootfs and write <dir>/config.json.
import { defineCommand } from "../fast-args";
import { createBundle } from "../../bundle";
import { BuncError } from "../../sys/errors";
import { logWarn } from "../log";
import { err, stderrIsTTY } from "../output";
import { cli } from "../context";
import type { SplitArgv } from "../dispatch";

export default defineCommand({
  meta: { name: "bundle", description: "Create an OCI bundle from a rootfs tarball (gzip or plain tar)", usage: "[options] <tarball> <dir> [-- <cmd> [args...]]", commandAfterDashes: true } as any,
  args: {
    tarball: { type: "positional", description: "rootfs tarball", required: true },
    dir: { type: "positional", description: "bundle directory to create", required: true },
    rootless: { type: "boolean", description: "write a config.json for a rootless container" },
    force: { type: "boolean", description: "replace an existing bundle in <dir>" },
    hostname: { type: "string", description: "container hostname" },
    cwd: { type: "string", description: "working directory of the process" },
    env: { type: "string", alias: "e", description: "KEY=VALUE for the process environment (repeatable)" },
    tty: { type: "boolean", description: "allocate a terminal for the process" },
  },
  async run({ args, rawArgs, data }) {
    const command = (data as SplitArgv).command; // after `--`: the process.args
    // Unpacking's per-member code runs a few hundred times and wakes the JIT at the binary's
    // policy (100): its compiler costs ~1.4 MiB of peak RSS (of ~46) and saves no CPU here.
    (Bun as any).unsafe?.setJITPolicy?.(1000);
    let result;
    try {
      result = await createBundle(args.tarball, args.dir, {
        rootless: args.rootless,
        force: args.force,
        hostname: args.hostname,
        cwd: args.cwd,
        terminal: args.tty ?? false,
        // runc-style JSON logs are for machines: no progress bar. Not process.stderr: its
        // stream costs Bun ~7 ms and node:fs, node:stream and fs/promises (~4 MiB).
        progress: cli.globals.logFormat === "json" ? undefined : { get isTTY() { return stderrIsTTY(); }, write: err },
        env: repeated(rawArgs, ["--env", "-e"]),
        args: command.length ? command : undefined,
      });
    } catch (e) {
      throw new BuncError((e as Error).message);
    }
    for (const w of result.warnings) logWarn(w);
  },
});

/** citty keeps only the last value of a repeated flag; collect every `--env X`, `--env=X`, `-e X`. */
function repeated(argv: string[], names: string[]): string[] | undefined {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (names.includes(a) && i + 1 < argv.length) out.push(argv[++i]!);
    else for (const n of names) if (a.startsWith(n + "=")) out.push(a.slice(n.length + 1));
  }
  return out.length ? out : undefined;
}
