// Parses the global flags, finds the command, rejects unknown flags, runs it, and
// turns any error into one line (and a JSON log line) plus exit status 1.
import type { CommandDef } from "citty";
import { parseGlobals } from "./globals";
// ./output (the FFI) is loaded where something is printed: `--version` needs neither.
const output = () => require("./output") as typeof import("./output");
import { COMMANDS } from "./commands";
import { runSimple } from "./fast-args";
import { cli } from "./context";
import { cliLogger, configureLog, logError } from "./log";
import { runtimeContext } from "../runtime/context";
import { asBuncError, BuncError } from "../sys/errors";
import pkg from "../../package.json" with { type: "json" };

export const VERSION = pkg.version;
export const SPEC_VERSION = "1.3.0";

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).filter(([, c]) => !c.hidden).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    `bunc ${VERSION}: an OCI container runtime`,
    "",
    "Usage: bunc [global flags] <command> [flags] [args]",
    "       bunc help <command>",
    "",
    "Commands:", ...lines,
    "",
    "Global flags:",
    "  --root DIR          state directory (default /run/bunc)",
    "  --log FILE          also log to FILE",
    "  --log-format FMT    text or json (runc's JSON lines)",
    "  --debug             trace each step (namespaces, mounts, cgroups, hooks; ms) to stderr or --log",
    "  -v, --version       print the version",
    "  -h, --help          this help",
    "",
  ].join("\n");
}

async function loadCommand(name: string): Promise<CommandDef<any>> {
  const entry = COMMANDS[name];
  if (!entry) throw new BuncError(`unknown command "${name}" (see bunc --help)`);
  return entry.load();
}

async function commandHelp(name: string): Promise<number> {
  const { renderHelp } = await import("./help");
  output().out(await renderHelp(name, await loadCommand(name)));
  return 0;
}

export interface SplitArgv { own: string[]; id?: string; command: string[] }

/**
 * bunc's part of a command line and the user's command. For commands that take one
 * (meta.commandAfterDashes: run, bundle) nothing after `--` is ever bunc's; exec and ps
 * end bunc's part at the container id (meta.splitArgv). Elsewhere `--` only ends the
 * flags, as in runc (`bunc create -b B -- -odd-id`).
 */
export function splitArgv(cmd: CommandDef<any>, raw: string[]): SplitArgv {
  const meta = cmd.meta as any;
  if (meta?.splitArgv) return meta.splitArgv(raw);
  const dashes = raw.indexOf("--");
  if (!meta?.commandAfterDashes || dashes < 0) return { own: raw, command: [] };
  return { own: raw.slice(0, dashes), command: raw.slice(dashes + 1) };
}

/** A non-root user without XDG_RUNTIME_DIR lands on /run/bunc, which only root may write. */
function withHint(msg: string): string {
  const root = cli.globals?.root;
  if (!root || process.geteuid?.() === 0 || !/EACCES|EPERM/.test(msg) || !msg.includes(root)) return msg;
  return `${msg} (not root: use --root DIR or set XDG_RUNTIME_DIR)`;
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
    // A group of one-letter flags (-it), as docker and getopt take it: booleans, the last may take a value.
    if (/^-[a-zA-Z]{2,}$/.test(a)) {
      const types = [...a.slice(1)].map((c) => known.get(c));
      if (types.some((t, j) => t !== "boolean" && !(t === "string" && j === types.length - 1))) throw new BuncError(`unknown flag ${a}`);
      if (types.at(-1) === "string") i++;
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
    cli.runtime = { ...runtimeContext(globals.root, cliLogger()), systemdCgroup: globals.systemdCgroup };
    // --debug: every checked system call too (loads the FFI module only then).
    if (globals.debug) (require("../sys/libc") as typeof import("../sys/libc")).traceSyscalls((line) => cli.runtime.log.debug?.(`syscall ${line}`));
    const [name, ...rawArgs] = rest;
    if (name === "-v" || name === "--version" || name === "version") {
      // Bun's own writer: `--version` then loads neither node:fs nor the FFI (~0.4 ms of its ~5).
      await Bun.write(Bun.stdout, `bunc version ${VERSION}\nspec: ${SPEC_VERSION}\nbun: ${Bun.version}\n`).catch(() => {});
      return 0;
    }
    if (name === "help" && rawArgs.length && !["help", "-h", "--help"].includes(rawArgs[0]!)) return await commandHelp(rawArgs[0]!);
    if (!name || name === "-h" || name === "--help" || name === "help") {
      output().out(usage());
      return name ? 0 : 1;
    }
    const cmd = await loadCommand(name);
    const parts = splitArgv(cmd, rawArgs);
    const own = parts.own;
    const flags = own.includes("--") ? own.slice(0, own.indexOf("--")) : own;
    if (flags.includes("--help") || flags.includes("-h")) return await commandHelp(name);
    const args = (typeof cmd.args === "function" ? await (cmd.args as any)() : cmd.args) ?? {};
    checkFlags(own, args);
    // citty would read the user's command (after `--`, or after exec's id) as its own
    // arguments: it only sees bunc's part and the id; the command is in `data`.
    const cmdArgs = [...own, ...(parts.id ? [parts.id] : [])];
    // A plain id (and booleans) is parsed without loading citty (fast-args.ts).
    if (!(await runSimple(cmd, cmdArgs, parts))) {
      const { runCommand } = await import("citty");
      await runCommand(cmd, { rawArgs: cmdArgs, data: parts });
    }
    return cli.exitCode;
  } catch (e: any) {
    // Only here does an error become a line and an exit status.
    const error = asBuncError(e);
    await logError(withHint(error.message));
    if (process.env.BUNC_DEBUG_STACK) output().err(String((e as Error)?.stack ?? e) + "\n");
    return error.exitCode;
  }
}
