// A gzip archive inflated on a thread of its own (inflate-thread.c, prebuilt by
// scripts/build.ts and defined into the binary as base64): the caller reads the tar bytes
// from a pipe and writes files while the thread inflates what comes next. Without the
// prebuilt object (a build without a C compiler, the library run from source) or without
// libz, start() says so and the caller inflates on its own thread.
import { bindSymbols, libc, ptr } from "./libc";
import { closeFd } from "./files";
import { pipe } from "./io";
import { loadNativeHelper } from "./native-helper";

const CHUNK = 64 * 1024;
/** The thread writes the tar bytes this many at a time (inflate-thread.c): read them as much. */
export const INFLATE_BATCH = 256 * 1024;
// The job's layout (inflate-thread.c): 16 longs, zlib's message at long 16 (128 bytes), the
// thread's input buffer (CHUNK) and output buffer (INFLATE_BATCH) from long 32.
const IN_FD = 0, OUT_FD = 1, HEAD = 2, HEAD_LEN = 3, READ = 4, STATUS = 5, ERRNO = 6, MSG = 16, BUFFERS = 32;
const F_SETPIPE_SZ = 1031;
const DONE = 1, TRUNCATED = -2, READ_FAILED = -3, WRITE_FAILED = -4;

const SYMBOLS = {
  bunc_inflate_start: { args: ["ptr"], returns: "i32" },
  bunc_inflate_join: { args: ["ptr"], returns: "i32" },
} as const;
type Lib = { bunc_inflate_start(job: unknown): number; bunc_inflate_join(job: unknown): number };
let lib: Lib | null | undefined;

declare const BUNC_INFLATE_THREAD_SO: string | undefined;

/**
 * The prebuilt object: the binary's; for tests of the library from source, the one at `path`,
 * or none (null: inflate on the caller's thread again).
 */
export function loadInflateThread(path?: string | null): boolean {
  if (lib !== undefined && path === undefined) return lib !== null;
  lib = null;
  if (path) lib = bindSymbols(path, SYMBOLS) as unknown as Lib;
  if (path !== undefined) return lib !== null;
  if (process.arch !== "x64" && process.arch !== "arm64") return false; // z_stream as laid out on LP64
  lib = (loadNativeHelper("inflate-thread", typeof BUNC_INFLATE_THREAD_SO === "string" ? BUNC_INFLATE_THREAD_SO : undefined, SYMBOLS) as unknown as Lib) ?? null;
  return lib !== null;
}

/** How the thread ended: ok, or why not (zlib's message; truncated; the archive unreadable). */
export type InflateOutcome = { ok: true } | { ok: false; truncated: boolean; message: string; errno?: number };

export class InflateThread {
  private readonly job = new BigInt64Array(BUFFERS + (CHUNK + INFLATE_BATCH) / 8);
  private joined = false;
  private closed = false;

  /**
   * Inflates `head` (the archive's first bytes, already read by the caller) and then the rest
   * of `archiveFd` on a new thread; undefined where there is no prebuilt object or no libz.
   * `head` and `archiveFd` must stay as they are until finish() or close().
   */
  static start(archiveFd: number, head: Uint8Array): InflateThread | undefined {
    if (!loadInflateThread()) return undefined;
    const [reader, writer] = pipe();
    libc.fcntl(writer, F_SETPIPE_SZ, BigInt(2 * INFLATE_BATCH)); // room for the next batch while one is read; a smaller pipe works too
    const t = new InflateThread(reader, head);
    t.job[IN_FD] = BigInt(archiveFd);
    t.job[OUT_FD] = BigInt(writer);
    t.job[HEAD] = head.length ? BigInt(ptr(head)) : 0n;
    t.job[HEAD_LEN] = BigInt(head.length);
    if (lib!.bunc_inflate_start(ptr(t.job)) !== 0) {
      closeFd(reader);
      closeFd(writer);
      return undefined;
    }
    return t; // the writer is the thread's now: it closes it when done
  }

  private constructor(
    /** The tar bytes, in order: read until EOF. */
    readonly fd: number,
    private readonly head: Uint8Array,
  ) {}

  /** Archive bytes read so far (the caller's head included), for a progress bar. */
  get inputRead(): number {
    return this.head.length + Number(this.job[READ]);
  }

  /** After EOF on `fd`: waits for the thread and says how the inflating ended. */
  finish(): InflateOutcome {
    this.join();
    const status = Number(this.job[STATUS]);
    if (status === DONE) return { ok: true };
    const msg = new Uint8Array(this.job.buffer, MSG * 8, 128);
    const message = new TextDecoder().decode(msg.subarray(0, msg.indexOf(0) >>> 0));
    const errno = status === READ_FAILED || status === WRITE_FAILED ? Number(this.job[ERRNO]) : undefined;
    return { ok: false, truncated: status === TRUNCATED, message, errno };
  }

  /** Stops reading (the thread's next write fails) and waits for the thread; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFd(this.fd);
    this.join();
  }

  private join(): void {
    if (this.joined) return;
    this.joined = true;
    lib!.bunc_inflate_join(ptr(this.job));
  }
}
