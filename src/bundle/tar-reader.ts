// A push parser of tar: fed chunks of any size, it calls back per member synchronously and
// passes file bodies on as views of the chunks it was given (no copies, no queue), so an
// archive streams through in constant memory. It buffers only a header block (512 bytes) and
// the PAX / GNU long-name records (bounded). Reads ustar, GNU and PAX as tar-stream does.
import { decodePax } from "./pax";

export type TarType = "file" | "link" | "symlink" | "character-device" | "block-device" | "directory" | "fifo" | "contiguous-file" | `unknown (${string})`;

export interface TarHeader {
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** The member's PAX records (the global ones merged in), or undefined. */
  pax?: Record<string, string>;
}

/** Where a member's body goes: views of the input, valid only during the call. */
export interface BodySink {
  data(chunk: Uint8Array): void;
  end(): void;
}

const BLOCK = 512;
const MAX_META = 4 * 1024 * 1024; // a PAX or long-name record larger than this is an attack, not a name
const TYPES: Record<string, TarType> = { "0": "file", "\0": "file", "1": "link", "2": "symlink", "3": "character-device", "4": "block-device", "5": "directory", "6": "fifo", "7": "contiguous-file" };
const META = new Set(["x", "g", "L", "K"]);
const utf8 = new TextDecoder();
const adler32 = Bun.hash.adler32;

export class TarReader {
  private readonly block = new Uint8Array(BLOCK);
  private readonly halves = [this.block.subarray(0, BLOCK / 2), this.block.subarray(BLOCK / 2)] as const;
  private blockFill = 0;
  /** Body bytes still to come for the current member, then the padding to the next block. */
  private bodyLeft = 0;
  private padLeft = 0;
  private sink: BodySink | undefined;
  /** The body of a PAX or long-name record being collected, and its type. */
  private meta: { type: string; buf: Uint8Array; fill: number } | undefined;
  private pax: Record<string, string> | undefined;
  private paxGlobal: Record<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private ended = false;
  /** Bytes of tar consumed so far (up to the end-of-archive block). */
  offset = 0;

  /** `onMember` returns where the body goes, or nothing to skip it. */
  constructor(private readonly onMember: (h: TarHeader) => BodySink | void) {}

  /** Bytes this reader holds between calls (a partial header or a PAX / long-name record). */
  get buffered(): number {
    return this.blockFill + (this.meta?.fill ?? 0);
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.ended) {
      let n: number;
      if (this.bodyLeft > 0) n = this.body(chunk.subarray(at));
      else if (this.padLeft > 0) this.padLeft -= n = Math.min(this.padLeft, chunk.length - at);
      else {
        n = Math.min(BLOCK - this.blockFill, chunk.length - at);
        this.block.set(chunk.subarray(at, at + n), this.blockFill);
        this.blockFill += n;
      }
      at += n;
      this.offset += n;
      if (this.blockFill === BLOCK) {
        this.blockFill = 0;
        this.header();
      }
    }
  }

  /** The input is over: throws when it stopped inside a member. */
  end(): void {
    if (this.ended) return;
    if (this.blockFill > 0 || this.bodyLeft > 0 || this.meta) throw new Error("Unexpected end of data");
  }

  private body(chunk: Uint8Array): number {
    const n = Math.min(this.bodyLeft, chunk.length);
    const part = chunk.subarray(0, n);
    this.bodyLeft -= n;
    if (this.meta) {
      this.meta.buf.set(part, this.meta.fill);
      this.meta.fill += n;
      if (this.bodyLeft === 0) this.endMeta();
    } else {
      this.sink?.data(part);
      if (this.bodyLeft === 0) this.endBody();
    }
    return n;
  }

  private endBody(): void {
    const sink = this.sink;
    this.sink = undefined;
    sink?.end();
  }

  private header(): void {
    const b = this.block;
    const sum = checksum(b, this.halves[0], this.halves[1]);
    if (sum === 8 * 32) return void (this.ended = true); // a zero block ends the archive
    if (sum !== octal(b, 148, 8)) throw new Error(`Invalid tar header (bad checksum at byte ${this.offset - BLOCK})`);
    const flag = String.fromCharCode(b[156]!);
    let size = octal(b, 124, 12);
    if (META.has(flag)) {
      if (size > MAX_META) throw new Error(`Invalid tar header (a ${flag} record of ${size} bytes)`);
      this.meta = { type: flag, buf: new Uint8Array(size), fill: 0 };
      return this.expect(size);
    }
    let name = text(b, 0, 100);
    if (isUstar(b) && b[345]) name = `${text(b, 345, 155)}/${name}`; // POSIX prefix ("ustar\0"; GNU's "ustar " has none)
    let type = TYPES[flag] ?? (`unknown (${flag})` as TarType);
    if (type === "file" && name.endsWith("/")) type = "directory"; // old tars mark directories so
    const pax = this.pax ?? this.paxGlobal;
    const device = type === "character-device" || type === "block-device";
    if (pax?.size !== undefined) size = parseInt(pax.size, 10);
    if (!(size >= 0)) throw new Error("Invalid tar header (bad size)");
    const h: TarHeader = {
      name: pax?.path || this.longName || name,
      type,
      mode: octal(b, 100, 8),
      uid: octal(b, 108, 8),
      gid: octal(b, 116, 8),
      size,
      mtime: octal(b, 136, 12),
      linkname: pax?.linkpath || this.longLink || text(b, 157, 100),
      devmajor: device ? octal(b, 329, 8) : 0, // read for devices only, as GNU tar does
      devminor: device ? octal(b, 337, 8) : 0,
      pax,
    };
    this.pax = this.longName = this.longLink = undefined;
    const sink = this.onMember(h) || undefined;
    this.sink = type === "directory" ? undefined : sink; // a directory's data (GNU dumpdir) is skipped
    this.expect(size);
    if (size === 0) this.endBody();
  }

  private expect(size: number): void {
    this.bodyLeft = size;
    this.padLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0 && this.meta) this.endMeta();
  }

  private endMeta(): void {
    const { type, buf } = this.meta!;
    this.meta = undefined;
    if (type === "x") this.pax = { ...this.paxGlobal, ...decodePax(buf) };
    else if (type === "g") this.paxGlobal = { ...this.paxGlobal, ...decodePax(buf) };
    else if (type === "L") this.longName = text(buf, 0, buf.length);
    else this.longLink = text(buf, 0, buf.length);
  }
}

/**
 * The header's byte sum with its checksum field (bytes 148-155) as spaces. Adler-32's low half
 * is 1 + the byte sum mod 65521, exact for 256 bytes (at most 65280): the two halves are summed
 * natively (Bun.hash.adler32, 0.4 µs) where a loop over the block's words took ~2.5 µs in the
 * bytecode interpreter, which bunc bundle runs in.
 */
function checksum(b: Uint8Array, lo: Uint8Array, hi: Uint8Array): number {
  let sum = (adler32(lo) & 0xffff) + (adler32(hi) & 0xffff) - 2;
  for (let i = 148; i < 156; i++) sum -= b[i]!;
  return sum + 8 * 0x20;
}

/** POSIX's magic, "ustar\0" at 257 (GNU's is "ustar "). */
function isUstar(b: Uint8Array): boolean {
  return b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && b[262] === 0;
}

/** A NUL-terminated string field. */
function text(b: Uint8Array, at: number, len: number): string {
  if (b[at] === 0) return "";
  const nul = b.indexOf(0, at);
  return utf8.decode(b.subarray(at, nul < 0 || nul > at + len ? at + len : nul));
}

/**
 * An octal number field, or GNU base-256 when its top bit is set. Read as parseInt(field, 8)
 * reads the field's text (leading whitespace and a sign allowed, up to the first non-octal
 * byte; none: 0), byte by byte: no string is made for the eight numbers of every header.
 */
export function octal(b: Uint8Array, at: number, len: number): number {
  if (b[at]! & 0x80) {
    const neg = b[at] === 0xff; // two's complement
    let n = neg ? 0 : b[at]! & 0x7f;
    for (let i = at + 1; i < at + len; i++) n = n * 256 + (neg ? 255 - b[i]! : b[i]!);
    return neg ? -n - 1 : n;
  }
  const end = at + len;
  let i = at;
  while (i < end && (b[i] === 0x20 || (b[i]! >= 0x09 && b[i]! <= 0x0d))) i++;
  const neg = b[i] === 0x2d;
  if (neg || b[i] === 0x2b) i++;
  let n = 0;
  for (; i < end; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 7) break;
    n = n * 8 + d;
  }
  return (neg ? -n : n) || 0;
}
