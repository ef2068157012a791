// Synchronous streaming gunzip into one reused output buffer: an archive is inflated a chunk
// at a time on this thread, so unpacking holds neither the whole tar nor a queue of chunks.
// The system's libz through FFI (sys/libz.ts: node:zlib's module alone costs ~5 MiB of peak
// RSS); without it, node:zlib, loaded only then. node:zlib has no public synchronous streaming
// API (its sync calls take the whole input; its streams inflate on a thread pool and queue
// their output), so this drives its zlib handle the way its own zlibBufferSync does
// (handle.writeSync + _writeState, the same in Node and Bun); failing that, one gunzipSync.
import { LibzGunzip } from "../sys/libz";

export const GUNZIP_CHUNK = 64 * 1024;

/** zlib refused the data (its error is the cause); errors of the output's consumer pass through as they are. */
export class GunzipError extends Error {}

export type GunzipBackend = "libz" | "node-handle" | "node-sync";

interface Backend {
  push(input: Uint8Array): void;
  finish(): void;
  close(): void;
}

export class Gunzip {
  private readonly backend: Backend;
  readonly kind: GunzipBackend;
  /** What the consumer threw, to pass it through as it is. */
  private consumerError: unknown;

  /**
   * `onOutput` gets views of one reused buffer: it must consume (or copy) them before returning.
   * `prefer` is for tests; by default the first available of libz, node-handle, node-sync.
   */
  constructor(onOutput: (chunk: Uint8Array) => void, maxOutput = Infinity, prefer?: GunzipBackend) {
    const emit = (chunk: Uint8Array) => {
      try {
        onOutput(chunk);
      } catch (e) {
        this.consumerError = e;
        throw e;
      }
    };
    const out = new Uint8Array(GUNZIP_CHUNK);
    const libz = !prefer || prefer === "libz" ? libzBackend(out, emit) : undefined;
    const zlib = libz ? undefined : (require("node:zlib") as typeof import("node:zlib")); // loaded only without libz
    const handle = zlib && prefer !== "node-sync" ? nodeHandleBackend(zlib, out, emit) : undefined;
    [this.kind, this.backend] = libz ? ["libz", libz] : handle ? ["node-handle", handle] : ["node-sync", nodeSyncBackend(zlib!, maxOutput, emit)];
  }

  push(input: Uint8Array): void {
    this.zlibErrors(() => this.backend.push(input));
  }

  /** The input is over: throws GunzipError when the gzip data was truncated. */
  finish(): void {
    this.zlibErrors(() => this.backend.finish());
  }

  /** Free zlib's state (after finish, or on failure). */
  close(): void {
    this.backend.close();
  }

  /** Errors of zlib itself become GunzipError; the consumer's pass through. */
  private zlibErrors(step: () => void): void {
    this.consumerError = undefined;
    try {
      step();
    } catch (e) {
      if (e === this.consumerError && e !== undefined) throw e;
      throw new GunzipError((e as Error).message, { cause: e });
    }
  }
}

function libzBackend(out: Uint8Array, emit: (chunk: Uint8Array) => void): Backend | undefined {
  const libz = LibzGunzip.create(out);
  return libz && { push: (b) => libz.push(b, emit), finish: () => libz.finish(), close: () => libz.close() };
}

/** node:zlib's handle, written to synchronously as its zlibBufferSync does; undefined where it is not there. */
function nodeHandleBackend(zlib: typeof import("node:zlib"), out: Uint8Array, emit: (chunk: Uint8Array) => void): Backend | undefined {
  const stream = zlib.createGunzip();
  const handle = (stream as any)._handle, state = (stream as any)._writeState as Uint32Array | undefined;
  if (typeof handle?.writeSync !== "function" || !state) return undefined;
  stream.on("error", () => {}); // thrown by inflate below; destroy() emits it again later
  const inflate = (flush: number, input: Uint8Array) => {
    let inOff = 0, inLeft = input.length;
    for (;;) {
      handle.writeSync(flush, input, inOff, inLeft, out, 0, out.length);
      if (stream.errored) throw stream.errored; // set synchronously by the handle's error callback
      const outLeft = state[0]!, inAfter = state[1]!;
      if (outLeft < out.length) emit(out.subarray(0, out.length - outLeft));
      inOff += inLeft - inAfter;
      inLeft = inAfter;
      if (outLeft !== 0) return; // the output did not fill the buffer: the input is used up (or the stream ended)
    }
  };
  return { push: (b) => inflate(zlib.constants.Z_NO_FLUSH, b), finish: () => inflate(zlib.constants.Z_FINISH, new Uint8Array(0)), close: () => stream.destroy() };
}

/** The last resort: the whole input kept, inflated at once at finish (bounded by maxOutput). */
function nodeSyncBackend(zlib: typeof import("node:zlib"), maxOutput: number, emit: (chunk: Uint8Array) => void): Backend {
  const whole: Uint8Array[] = [];
  const finish = () => {
    const all = zlib.gunzipSync(Buffer.concat(whole), { maxOutputLength: Math.min(maxOutput + 1, 2 ** 32) });
    for (let i = 0; i < all.length; i += GUNZIP_CHUNK) emit(all.subarray(i, i + GUNZIP_CHUNK));
  };
  return { push: (b) => void whole.push(b.slice()), finish, close: () => {} };
}
