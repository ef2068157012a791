// Streaming gunzip with the system's libz.so.1 through bun:ffi, for unpacking rootfs tarballs:
// importing node:zlib alone costs ~5 MiB of peak RSS in the compiled binary (its stream
// machinery), more than unpacking the Alpine minirootfs itself; libz costs ~0.2 MiB.
// inflate() runs on this thread into the caller's buffer: nothing is queued.
import { bindSymbols, cString, ptr, type Pointer } from "./libc";

const i32 = "i32", P = "ptr";
const Z_OK = 0, Z_STREAM_END = 1, Z_BUF_ERROR = -5, Z_NO_FLUSH = 0;
// z_stream on LP64: next_in 0, avail_in 8, total_in 16, next_out 24, avail_out 32, total_out 40, msg 48, ..., 112 bytes
const NEXT_IN = 0, AVAIL_IN = 8, NEXT_OUT = 24, AVAIL_OUT = 32, MSG = 48, Z_STREAM_SIZE = 112;
const GZIP_ONLY = 15 + 16; // windowBits: a gzip wrapper, 32 KiB window
const VERSION = new TextEncoder().encode("1\0"); // inflateInit2_ checks the major version only

type Libz = ReturnType<typeof open>;
let libz: Libz | null | undefined;

function open() {
  return bindSymbols("libz.so.1", {
    inflateInit2_: { args: [P, i32, P, i32], returns: i32 },
    inflate: { args: [P, i32], returns: i32 },
    inflateReset: { args: [P], returns: i32 },
    inflateEnd: { args: [P], returns: i32 },
  } as const);
}

/** libz's symbols, or null where it is missing (and on 32-bit, where z_stream is laid out otherwise). */
function load(): Libz | null {
  if (libz !== undefined) return libz;
  try {
    libz = process.arch === "x64" || process.arch === "arm64" ? open() : null;
  } catch {
    libz = null;
  }
  return libz;
}

/** A gzip stream (one or more members) inflated a chunk at a time; throws Error with zlib's message. */
export class LibzGunzip {
  private readonly strm = new Uint8Array(Z_STREAM_SIZE);
  private readonly view = new DataView(this.strm.buffer);
  private readonly z: Libz;
  private atEnd = false;
  /** Bytes after the last member that are not another member (zero padding): ignored, as gzip does. */
  private trailing = false;
  private closed = false;

  /** Returns undefined without libz. */
  static create(out: Uint8Array): LibzGunzip | undefined {
    const z = load();
    return z ? new LibzGunzip(z, out) : undefined;
  }

  private constructor(z: Libz, private readonly out: Uint8Array) {
    this.z = z;
    const rc = z.inflateInit2_(ptr(this.strm), GZIP_ONLY, ptr(VERSION), Z_STREAM_SIZE);
    if (rc !== Z_OK) throw new Error(`inflateInit2: zlib error ${rc}`);
  }

  /** Inflate `input`, calling `onOutput` with views of the output buffer (valid during the call). */
  push(input: Uint8Array, onOutput: (chunk: Uint8Array) => void): void {
    let off = 0;
    while (off < input.length && !this.trailing) {
      if (this.atEnd) {
        if (input[off] === 0) return void (this.trailing = true);
        this.z.inflateReset(ptr(this.strm)); // a next member
        this.atEnd = false;
      }
      this.setPtr(NEXT_IN, ptr(input, off));
      this.view.setUint32(AVAIL_IN, input.length - off, true);
      for (;;) {
        this.setPtr(NEXT_OUT, ptr(this.out));
        this.view.setUint32(AVAIL_OUT, this.out.length, true);
        const rc = this.z.inflate(ptr(this.strm), Z_NO_FLUSH);
        const produced = this.out.length - this.view.getUint32(AVAIL_OUT, true);
        if (produced > 0) onOutput(this.out.subarray(0, produced));
        if (rc === Z_STREAM_END) {
          this.atEnd = true;
          break;
        }
        if (rc !== Z_OK && rc !== Z_BUF_ERROR) throw new Error(this.message(rc));
        if (this.view.getUint32(AVAIL_IN, true) === 0 && produced < this.out.length) break; // needs more input
      }
      off = input.length - this.view.getUint32(AVAIL_IN, true);
    }
  }

  /** The input is over: throws when the last member is incomplete. */
  finish(): void {
    if (!this.atEnd && !this.trailing) throw new Error("unexpected end of file");
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.z.inflateEnd(ptr(this.strm));
  }

  private setPtr(at: number, p: Pointer): void {
    this.view.setBigUint64(at, BigInt(p), true);
  }

  private message(rc: number): string {
    const msg = Number(this.view.getBigUint64(MSG, true));
    return msg ? cString(msg as Pointer) : `zlib error ${rc}`;
  }
}
