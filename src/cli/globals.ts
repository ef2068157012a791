// runc's global flags come before the command (`bunc --root /x create ...`); citty
// passes nothing down to subcommands, so they are taken off argv here.
import { BuncError } from "../sys/errors";

export interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  rootless?: string;
}

const VALUED = new Set(["root", "log", "log-format", "criu", "rootless"]);
const BOOLEAN = new Set(["debug", "systemd-cgroup"]);

export function parseGlobals(argv: string[]): { globals: Globals; rest: string[] } {
  const g: Globals = { root: defaultRoot(), logFormat: "text", debug: false, systemdCgroup: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--") || a === "--help" || a === "--version") break;
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (BOOLEAN.has(name)) {
      const v = eq < 0 ? true : a.slice(eq + 1) !== "false";
      if (name === "debug") g.debug = v;
      else g.systemdCgroup = v;
      continue;
    }
    if (!VALUED.has(name)) throw new BuncError(`unknown global flag ${a}`);
    const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined) throw new BuncError(`flag --${name} needs a value`);
    if (name === "root") g.root = value;
    else if (name === "log") g.log = value;
    else if (name === "log-format") {
      if (value !== "text" && value !== "json") throw new BuncError(`invalid --log-format "${value}": use text or json`);
      g.logFormat = value;
    } else if (name === "rootless") g.rootless = value;
  }
  return { globals: g, rest: argv.slice(i) };
}

/** /run/bunc as root; $XDG_RUNTIME_DIR/bunc for a rootless user (as runc does). */
function defaultRoot(): string {
  if (process.env.BUNC_ROOT) return process.env.BUNC_ROOT;
  if (process.geteuid?.() !== 0 && process.env.XDG_RUNTIME_DIR) return `${process.env.XDG_RUNTIME_DIR}/bunc`;
  return "/run/bunc";
}
