// The one error type at the bottom of bunc. Everything the library throws is a BuncError
// (SyscallError, CgroupError, HookError, UnpackError, ... are kinds of it); each layer puts
// its context in front (crun's way) and keeps the errno and its name; only the CLI turns an
// error into a line and an exit status.
import { errnoName } from "./errno";

/** Control characters escaped and length bounded: messages quote config values. */
export function oneLine(s: string, max = 400): string {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export interface ErrorDetails {
  /** bunc's exit status for it (default 1). */
  exitCode?: number;
  /** The errno at the bottom of it, when a system call failed. */
  errno?: number;
  /** The errno's name when only the name is known (node's fs errors). */
  code?: string;
  cause?: unknown;
}

/** An error meant for the user: one line; exit status 1 unless said otherwise. */
export class BuncError extends Error {
  readonly exitCode: number;
  readonly errno?: number;
  readonly code?: string;
  constructor(message: string, details: ErrorDetails | number = {}) {
    const d = typeof details === "number" ? { exitCode: details } : details;
    super(oneLine(message, 600), d.cause === undefined ? undefined : { cause: d.cause });
    this.name = "BuncError";
    this.exitCode = d.exitCode ?? 1;
    this.errno = d.errno;
    this.code = d.code ?? (d.errno === undefined ? undefined : errnoName(d.errno));
  }
}

/** Any thrown value as a BuncError; node's fs errors keep their errno and its name. */
export function asBuncError(e: unknown): BuncError {
  if (e instanceof BuncError) return e;
  const x = e as { message?: string; errno?: number; code?: string } | undefined;
  const errno = typeof x?.errno === "number" ? Math.abs(x.errno) : undefined;
  const code = typeof x?.code === "string" && /^E[A-Z0-9]+$/.test(x.code) ? x.code : undefined;
  return new BuncError(x?.message ?? String(e), { errno, code, cause: e });
}

/** `e` with `context` in front, its errno, name and exit status kept. */
export function withContext(context: string, e: unknown): BuncError {
  const err = asBuncError(e);
  return new BuncError(`${context}: ${err.message}`, { exitCode: err.exitCode, errno: err.errno, code: err.code, cause: e });
}
