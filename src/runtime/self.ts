// How bunc re-executes itself (the Bun init, the exec init) and the --pid-file write: shared by
// create and exec, apart from create-steps.ts so that exec does not load the create code.
import { basename, dirname, join, resolve } from "../sys/paths";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

/** How bunc re-executes itself as a container's init (the Bun init; see create-setup.ts). */
export function selfCommand(): { argv: string[]; execPath: string } {
  // The compiled binary is built with every autoload off; from sources (a library user's
  // `bun`), bun is told the same: no .env and no bunfig.toml from the working directory.
  const compiled = process.argv[1]?.startsWith("/$bunfs/");
  return compiled
    ? { execPath: process.execPath, argv: ["bunc"] }
    : { execPath: process.execPath, argv: [process.execPath, "--no-env-file", "--config=/dev/null", new URL("../cli/main.ts", import.meta.url).pathname] };
}

/** runc writes the pid file atomically too: engines read it as soon as create returns. */
export function writePidFile(file: string, pid: number): void {
  const abs = resolve(file);
  const tmp = join(dirname(abs), `.${basename(abs)}.tmp`);
  nodeFs().writeFileSync(tmp, String(pid));
  nodeFs().renameSync(tmp, abs);
}
