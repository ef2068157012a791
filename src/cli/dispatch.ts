// Parses the global flags, finds the command, rejects unknown flags, runs it, and
// turns any error into one line (and a JSON log line) plus exit status 1.
import { parseGlobals } from "./globals";
import { err, out } from "../sys/output";
import { COMMANDS } from "./commands";
import { cli } from "./context";
import { configureLog, logError } from "./log";
import { BuncError } from "../runtime/errors";
import pkg from "../../package.json" with { type: "json" };

export const VERSION = pkg.version;
export const SPEC_VERSION = "1.2.0";

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).filter(([, c]) => !c.hidden).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    `bunc ${VERSION}: an OCI container runtime`,
    "",
    "Usage: bunc [global flags] <command> [flags] [args]",
    "",
    "Commands:", ...lines,
    "",
    "Global flags:",
    "  --root DIR          state directory (default /run/bunc)",
    "  --log FILE          also log to FILE",
    "  --log-format FMT    text or json (runc's JSON lines)",
    "  --debug             debug logging",
    "  -v, --version       print the version",
    "  -h, --help          this help",
    "",
  ].join("\n");
}

/** Flags the command does not declare are an error, as in runc. */
export function checkFlags(rawArgs: string[], args: Record<string, any>, stopAtFirstPositional = false): void {
  const known = new Map<string, string>();
  for (const [name, def] of Object.entries(args)) {
    known.set(name, def.type);
    for (const a of [def.alias ?? []].flat()) known.set(a, def.type);
  }
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") {
      if (stopAtFirstPositional) break;
      continue;
    }
    const name = a.replace(/^--?/, "").split("=")[0]!;
    const type = known.get(name) ?? (name.startsWith("no-") ? known.get(name.slice(3)) : undefined);
    if (type === undefined || type === "positional") throw new BuncError(`unknown flag ${a.split("=")[0]}`);
    if (type === "string" && !a.includes("=")) i++;
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { globals, rest } = parseGlobals(argv);
    cli.globals = globals;
    configureLog({ file: globals.log, format: globals.logFormat, debug: globals.debug });
    const [name, ...rawArgs] = rest;
    if (name === "-v" || name === "--version" || name === "version") {
      out(`bunc version ${VERSION}\nspec: ${SPEC_VERSION}\nbun: ${Bun.version}\n`);
      return 0;
    }
    if (!name || name === "-h" || name === "--help" || name === "help") {
      out(usage());
      return name ? 0 : 1;
    }
    const entry = COMMANDS[name];
    if (!entry) throw new BuncError(`unknown command "${name}" (see bunc --help)`);
    const cmd = await entry.load();
    // For exec, what follows the container id is the user's command, help flags included.
    const split = (cmd.meta as any)?.splitArgv as ((raw: string[]) => { own: string[]; id?: string; command: string[] }) | undefined;
    const parts = split ? split(rawArgs) : undefined;
    const dashes = rawArgs.indexOf("--");
    const own = parts ? parts.own : dashes < 0 ? rawArgs : rawArgs.slice(0, dashes);
    if (own.includes("--help") || own.includes("-h")) {
      const { renderUsage } = await import("citty");
      const text = await renderUsage(cmd);
      // citty colours its help; plain text when it goes to a file or a pipe.
      out((require("node:tty").isatty(1) ? text : text.replace(/\x1b\[[0-9;]*m/g, "")) + "\n");
      return 0;
    }
    const args = (typeof cmd.args === "function" ? await (cmd.args as any)() : cmd.args) ?? {};
    checkFlags(own, args);
    const { runCommand } = await import("citty");
    // citty would read the user's command as flags: it only sees bunc's part and the id.
    await runCommand(cmd, { rawArgs: parts ? [...own, ...(parts.id ? [parts.id] : [])] : rawArgs, data: parts });
    return cli.exitCode;
  } catch (e: any) {
    await logError(e instanceof BuncError ? e.message : e?.message ?? String(e));
    if (!(e instanceof BuncError) && process.env.BUNC_DEBUG_STACK) err(String(e?.stack) + "\n");
    return e instanceof BuncError ? e.exitCode : 1;
  }
}
