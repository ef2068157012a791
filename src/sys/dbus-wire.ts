// The D-Bus wire format (the specification's "Message Protocol"): what bunc's own client
// (dbus.ts) writes and reads. Little-endian out; both byte orders in. Values:
//   y n q i u h -> number, x t -> bigint (given as number, bigint or decimal string), d -> number,
//   b -> boolean, s o g -> string, a -> array (a{..} -> array of [key, value]; ay may be bytes),
//   (...) -> array, v -> Variant.

/** A value with its own signature (the `v` type). */
export class Variant {
  constructor(readonly signature: string, readonly value: unknown) {}
}

export const MessageType = { METHOD_CALL: 1, METHOD_RETURN: 2, ERROR: 3, SIGNAL: 4 } as const;
/** The reply is not wanted: the peer sends none (the header's flags byte). */
export const NO_REPLY_EXPECTED = 0x1;

export interface Message {
  type: number;
  flags?: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: unknown[];
}

// Header field codes and their types, in code order (the order they are written in).
const FIELDS = [
  ["path", 1, "o"], ["interface", 2, "s"], ["member", 3, "s"], ["errorName", 4, "s"],
  ["replySerial", 5, "u"], ["destination", 6, "s"], ["sender", 7, "s"], ["signature", 8, "g"],
] as const;

const ALIGN: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4, s: 4, o: 4, g: 1, a: 4, "(": 8, "{": 8, v: 1 };

/** The index just past the single complete type that starts at `i` in `sig`. */
function typeEnd(sig: string, i: number): number {
  const c = sig[i];
  if (c === "a") return typeEnd(sig, i + 1);
  if (c === "(" || c === "{") {
    const close = c === "(" ? ")" : "}";
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`D-Bus signature "${sig}": unbalanced ${c}`);
      j = typeEnd(sig, j);
    }
    return j + 1;
  }
  if (c === undefined || !(c in ALIGN)) throw new Error(`D-Bus signature "${sig}": unknown type "${c ?? ""}"`);
  return i + 1;
}

/** A signature split into its complete types ("sa(sv)" -> ["s", "a(sv)"]). */
export function splitSignature(sig: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const end = typeEnd(sig, i);
    out.push(sig.slice(i, end));
    i = end;
  }
  return out;
}

const enc = new TextEncoder(), dec = new TextDecoder();

/** Writes values at offsets counted from the message's first byte (alignment is relative to it). */
class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.room(pad);
    this.len += pad; // the buffer is zeroed: padding is NUL bytes, as required
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.len++, v);
  }

  u32At(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }

  write(sig: string, v: unknown): void {
    const c = sig[0]!;
    this.align(ALIGN[c]!);
    this.room(8);
    const at = this.len;
    switch (c) {
      case "y": this.view.setUint8(at, Number(v)); this.len += 1; return;
      case "b": this.view.setUint32(at, v ? 1 : 0, true); this.len += 4; return;
      case "n": this.view.setInt16(at, Number(v), true); this.len += 2; return;
      case "q": this.view.setUint16(at, Number(v), true); this.len += 2; return;
      case "i": this.view.setInt32(at, Number(v), true); this.len += 4; return;
      case "u": case "h": this.view.setUint32(at, Number(v), true); this.len += 4; return;
      case "x": this.view.setBigInt64(at, BigInt(v as bigint), true); this.len += 8; return;
      case "t": this.view.setBigUint64(at, BigInt(v as bigint), true); this.len += 8; return;
      case "d": this.view.setFloat64(at, Number(v), true); this.len += 8; return;
      case "s": case "o": {
        const b = enc.encode(String(v));
        this.view.setUint32(at, b.length, true);
        this.len += 4;
        this.bytes(b);
        this.u8(0);
        return;
      }
      case "g": {
        const b = enc.encode(String(v));
        this.u8(b.length);
        this.bytes(b);
        this.u8(0);
        return;
      }
      case "v": {
        const { signature, value } = v as Variant;
        if (splitSignature(signature).length !== 1) throw new Error(`D-Bus variant: "${signature}" is not one complete type`);
        this.write("g", signature);
        this.write(signature, value);
        return;
      }
      case "a": {
        this.len += 4; // the length, known once the elements are written
        const elem = sig.slice(1);
        this.align(ALIGN[elem[0]!]!); // padding after the length is not counted in it
        const start = this.len;
        const items = v instanceof Uint8Array ? [...v] : (v as unknown[]);
        for (const item of items) this.write(elem, item);
        this.u32At(at, this.len - start);
        return;
      }
      case "(": case "{": {
        const types = splitSignature(sig.slice(1, -1));
        const items = v as unknown[];
        if (items.length !== types.length) throw new Error(`D-Bus ${sig}: ${items.length} values for ${types.length} types`);
        types.forEach((t, i) => this.write(t, items[i]));
        return;
      }
    }
    throw new Error(`D-Bus: cannot write type "${c}"`);
  }
}

/** One message in wire form, little-endian. */
export function marshal(m: Message): Uint8Array {
  const signature = m.signature ?? "";
  const types = splitSignature(signature);
  const body = m.body ?? [];
  if (types.length !== body.length) throw new Error(`D-Bus ${m.member ?? "message"}: ${body.length} values for signature "${signature}"`);
  // The body on its own: it starts 8-aligned in the message, so alignment within it is the same.
  const b = new Writer();
  types.forEach((t, i) => b.write(t, body[i]));
  const w = new Writer();
  for (const x of [0x6c /* 'l' */, m.type, m.flags ?? 0, 1 /* protocol version */]) w.u8(x);
  w.write("u", b.len);
  w.write("u", m.serial);
  const fields: [number, Variant][] = [];
  for (const [name, code, type] of FIELDS) {
    const v = name === "signature" ? (signature || undefined) : m[name];
    if (v !== undefined && v !== "") fields.push([code, new Variant(type, v)]);
  }
  w.write("a(yv)", fields);
  w.align(8);
  w.bytes(b.buf.subarray(0, b.len));
  return w.buf.slice(0, w.len);
}

/** Reads values from a whole message, offsets counted from its first byte. */
class Reader {
  readonly view: DataView;
  constructor(readonly buf: Uint8Array, public pos: number, readonly le: boolean) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  align(n: number): void {
    this.pos += (n - (this.pos % n)) % n;
  }

  private need(n: number): number {
    if (this.pos + n > this.buf.length) throw new Error("D-Bus message: truncated");
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private str(len: number): string {
    const at = this.need(len + 1);
    return dec.decode(this.buf.subarray(at, at + len));
  }

  read(sig: string): unknown {
    const c = sig[0]!;
    this.align(ALIGN[c] ?? 1);
    const v = this.view, le = this.le;
    switch (c) {
      case "y": return v.getUint8(this.need(1));
      case "b": return v.getUint32(this.need(4), le) !== 0;
      case "n": return v.getInt16(this.need(2), le);
      case "q": return v.getUint16(this.need(2), le);
      case "i": return v.getInt32(this.need(4), le);
      case "u": case "h": return v.getUint32(this.need(4), le);
      case "x": return v.getBigInt64(this.need(8), le);
      case "t": return v.getBigUint64(this.need(8), le);
      case "d": return v.getFloat64(this.need(8), le);
      case "s": case "o": return this.str(v.getUint32(this.need(4), le));
      case "g": return this.str(v.getUint8(this.need(1)));
      case "v": {
        const signature = this.read("g") as string;
        return new Variant(signature, this.read(signature));
      }
      case "a": {
        const len = v.getUint32(this.need(4), le);
        const elem = sig.slice(1);
        this.align(ALIGN[elem[0]!]!);
        const end = this.pos + len;
        if (end > this.buf.length) throw new Error("D-Bus message: truncated array");
        if (elem === "y") return this.buf.slice(this.need(len), end);
        const out: unknown[] = [];
        while (this.pos < end) out.push(this.read(elem));
        return out;
      }
      case "(": case "{":
        return splitSignature(sig.slice(1, -1)).map((t) => this.read(t));
    }
    throw new Error(`D-Bus: cannot read type "${c}"`);
  }
}

/** The length of the message at the start of `buf` once its fixed header is there (16 bytes), else undefined. */
export function messageLength(buf: Uint8Array): number | undefined {
  if (buf.length < 16) return undefined;
  const le = buf[0] === 0x6c;
  if (!le && buf[0] !== 0x42 /* 'B' */) throw new Error(`D-Bus message: bad byte order mark 0x${buf[0]!.toString(16)}`);
  const v = new DataView(buf.buffer, buf.byteOffset, 16);
  const body = v.getUint32(4, le), fields = v.getUint32(12, le);
  return 16 + fields + ((8 - (fields % 8)) % 8) + body;
}

/** One whole message (as long as messageLength says). The body is read only when `withBody`. */
export function unmarshal(buf: Uint8Array, withBody = true): Message {
  const le = buf[0] === 0x6c;
  const r = new Reader(buf, 4, le);
  const bodyLength = r.read("u") as number;
  const m: Message = { type: buf[1]!, flags: buf[2]!, serial: r.read("u") as number };
  const byCode = new Map<number, string>(FIELDS.map(([name, code]) => [code, name]));
  for (const [code, v] of r.read("a(yv)") as [number, Variant][]) {
    const name = byCode.get(code);
    if (name) (m as any)[name] = v.value; // unknown fields (UNIX_FDS, future ones) are skipped
  }
  r.align(8);
  if (withBody) m.body = bodyOf(buf, r.pos, m.signature ?? "", le, bodyLength);
  return m;
}

function bodyOf(buf: Uint8Array, at: number, signature: string, le: boolean, length: number): unknown[] {
  if (!signature) return [];
  const r = new Reader(buf.subarray(0, at + length), at, le);
  return splitSignature(signature).map((t) => r.read(t));
}
