// Logging for the CLI: errors and warnings to stderr, and to --log in runc's format
// (JSON lines {"level","msg","time"} with --log-format json) so engines can report them.
// consola is loaded only when something is printed to a terminal-facing stream.
import type { Logger } from "../runtime/context";

export interface LogSettings { file?: string; format: "text" | "json"; debug: boolean }
let settings: LogSettings = { format: "text", debug: false };

export function configureLog(s: LogSettings): void {
  settings = s;
}

function toFile(level: string, msg: string): void {
  if (!settings.file) return;
  const time = new Date().toISOString();
  const line = settings.format === "json"
    ? JSON.stringify({ level, msg, time }) + "\n"
    : `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  try {
    // node:fs only with --log: loading it costs every command ~0.9 ms.
    (require("node:fs") as typeof import("node:fs")).appendFileSync(settings.file, line);
  } catch {}
}

async function toStderr(level: "error" | "warn" | "debug", msg: string): Promise<void> {
  // Loaded when something is printed (the FFI): a command that prints nothing skips it.
  const { err, stderrIsTTY } = require("./output") as typeof import("./output");
  // With --log-format json the engine reads the log file; stderr stays plain.
  if (settings.format === "json" || !stderrIsTTY()) {
    err(`bunc: ${level === "error" ? "" : level + ": "}${msg}\n`);
    return;
  }
  const { createConsola } = await import("consola/basic");
  createConsola({ level: settings.debug ? 4 : 3 })[level](msg);
}

export async function logError(msg: string): Promise<void> {
  toFile("error", msg);
  await toStderr("error", msg);
}

export function logWarn(msg: string): void {
  toFile("warning", msg);
  void toStderr("warn", msg);
}

/** --debug lines go to --log when there is one (as runc's do), else to stderr. */
export function logDebug(msg: string): void {
  if (!settings.debug) return;
  if (settings.file) toFile("debug", msg);
  else void toStderr("debug", msg);
}

/** The library's logger: its warnings as ours; debug only under --debug, else the library builds no trace. */
export function cliLogger(): Logger {
  return settings.debug ? { warn: logWarn, debug: logDebug } : { warn: logWarn };
}
