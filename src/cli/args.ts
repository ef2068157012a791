// Argument fragments shared by commands, spelled as runc spells them.
import { pathExists } from "../sys/files";
import { resolve } from "../sys/paths";

export const idArg = { id: { type: "positional", description: "container id", required: true } } as const;
export const bundleArg = { bundle: { type: "string", alias: "b", description: "path to the bundle directory (default: current directory)" } } as const;
export const pidFileArg = { "pid-file": { type: "string", description: "write the init's PID to this file" } } as const;
export const consoleSocketArg = { "console-socket": { type: "string", description: "unix socket that receives the pty master" } } as const;
export const pidfdSocketArg = { "pidfd-socket": { type: "string", description: "unix socket that receives a pidfd of the process (SCM_RIGHTS)" } } as const;
export const createArgs = {
  ...bundleArg, ...pidFileArg, ...consoleSocketArg, ...pidfdSocketArg,
  // citty reads --no-X as X=false, so these are declared by their positive names.
  pivot: { type: "boolean", default: true, description: "use pivot_root", negativeDescription: "do not use pivot_root (for ramfs roots)" },
  "new-keyring": { type: "boolean", default: true, description: "create a new session keyring", negativeDescription: "keep the caller's session keyring" },
  "preserve-fds": { type: "string", description: "pass N extra fds (3..3+N-1) to the container", default: "0" },
} as const;

/** -b/--bundle, checked here so that a missing config.json says where bunc looked and how to point it elsewhere. */
export function requireBundle(bundle: string | undefined): string | undefined {
  const dir = resolve(bundle ?? ".");
  if (pathExists(dir) && !pathExists(`${dir}/config.json`)) {
    const { BuncError } = require("../sys/errors");
    throw new BuncError(`config file ${dir}/config.json not found (give the bundle directory with -b/--bundle)`);
  }
  return bundle;
}

export function preserveFds(v: string | undefined): number {
  const n = Number(v ?? 0);
  if (!Number.isInteger(n) || n < 0) throw new (require("../sys/errors").BuncError)(`invalid --preserve-fds "${v}"`);
  return n;
}

/**
 * Every value of a repeatable string flag, in order (citty keeps only the last): `-v A -v B`,
 * `--volume=A`. `args` is the command's declaration, so that other flags' values are skipped.
 */
export function repeatedValues(own: string[], args: Record<string, any>, name: string): string[] {
  const names = new Set([name, ...[args[name]?.alias ?? []].flat()]);
  const valued = new Set<string>();
  for (const [n, d] of Object.entries(args)) if (d.type === "string") for (const a of [n, ...[d.alias ?? []].flat()]) valued.add(a);
  const out: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const a = own[i]!;
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") continue;
    const eq = a.indexOf("=");
    const flag = a.replace(/^--?/, "").split("=")[0]!;
    const value = eq < 0 ? (valued.has(flag) ? own[++i] : undefined) : a.slice(eq + 1);
    if (names.has(flag) && value !== undefined) out.push(value);
  }
  return out;
}
