// A gzip archive inflated on a thread of its own (inflate-thread.c, prebuilt by
// scripts/build.ts and defined into the binary as base64): the caller writes files from one
// slot of tar bytes while the thread inflates the next ones into the others, in memory both
// see (no pipe: the bytes are not copied through the kernel). Without the prebuilt object (a
// build without a C compiler, the library run from source) or without libz 1.2.9 or later,
// start() says so and the caller inflates on its own thread.
import { bindSymbols, ptr } from "./libc";
import { loadNativeHelper } from "./native-helper";

const CHUNK = 64 * 1024;
/** Tar bytes the thread hands over at most at a time (SLOT in inflate-thread.c), in one of SLOTS slots. */
const INFLATE_BATCH = 256 * 1024;
const SLOTS = 4;
// The job's layout (inflate-thread.c): longs, zlib's message at long 32 (128 bytes), the
// thread's input buffer (CHUNK) and its slots from long 104.
const IN_FD = 0, HEAD = 1, HEAD_LEN = 2, READ = 3, STATUS = 4, ERRNO = 5, SLOT = 17, MSG = 32, BUFFERS = 104;
const DONE = 1, TRUNCATED = -2, READ_FAILED = -3;

const SYMBOLS = {
  bunc_inflate_start: { args: ["ptr"], returns: "i32" },
  bunc_inflate_next: { args: ["ptr"], returns: "i64" },
  bunc_inflate_join: { args: ["ptr"], returns: "i32" },
} as const;
type Lib = { bunc_inflate_start(job: unknown): number; bunc_inflate_next(job: unknown): number | bigint; bunc_inflate_join(job: unknown): number };
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
  private readonly job = new BigInt64Array(BUFFERS + (CHUNK + SLOTS * INFLATE_BATCH) / 8);
  private readonly jobPtr = ptr(this.job);
  private readonly slots = Array.from({ length: SLOTS }, (_, i) => new Uint8Array(this.job.buffer, BUFFERS * 8 + CHUNK + i * INFLATE_BATCH, INFLATE_BATCH));
  private joined = false;

  /**
   * Inflates `head` (the archive's first bytes, already read by the caller) and then the rest
   * of `archiveFd` on a new thread; undefined where there is no prebuilt object or no libz.
   * `head` and `archiveFd` must stay as they are until finish() or close().
   */
  static start(archiveFd: number, head: Uint8Array): InflateThread | undefined {
    if (!loadInflateThread()) return undefined;
    const t = new InflateThread(head);
    t.job[IN_FD] = BigInt(archiveFd);
    t.job[HEAD] = head.length ? BigInt(ptr(head)) : 0n;
    t.job[HEAD_LEN] = BigInt(head.length);
    return lib!.bunc_inflate_start(t.jobPtr) === 0 ? t : undefined;
  }

  private constructor(private readonly head: Uint8Array) {}

  /**
   * The next tar bytes, in order (a view valid until the next call), checked against the
   * gzip member's trailer where one ends; undefined at the end, after which finish() says how
   * it ended.
   */
  next(): Uint8Array | undefined {
    const n = Number(lib!.bunc_inflate_next(this.jobPtr));
    return n < 0 ? undefined : this.slots[Number(this.job[SLOT])]!.subarray(0, n);
  }

  /** Archive bytes read so far (the caller's head included), for a progress bar. */
  get inputRead(): number {
    return this.head.length + Number(this.job[READ]);
  }

  /** After next() returned undefined: waits for the thread and says how the inflating ended. */
  finish(): InflateOutcome {
    this.close();
    const status = Number(this.job[STATUS]);
    if (status === DONE) return { ok: true };
    const msg = new Uint8Array(this.job.buffer, MSG * 8, 128);
    const message = new TextDecoder().decode(msg.subarray(0, msg.indexOf(0) >>> 0));
    return { ok: false, truncated: status === TRUNCATED, message, errno: status === READ_FAILED ? Number(this.job[ERRNO]) : undefined };
  }

  /** Stops the thread where it is and waits for it; safe to call twice. */
  close(): void {
    if (this.joined) return;
    this.joined = true;
    lib!.bunc_inflate_join(this.jobPtr);
  }
}
