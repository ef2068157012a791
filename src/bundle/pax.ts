// PAX records keep xattr values as raw bytes (SCHILY.xattr.*, as GNU tar writes them);
// decoding every record as UTF-8 would mangle binary values such as security.capability.
// This decoder keeps xattr values as latin1 strings (one char per byte) for unpack.ts to
// turn back into bytes; everything else stays UTF-8.

const XATTR = "SCHILY.xattr.";

export function decodePax(buf: Uint8Array): Record<string, string> {
  const result: Record<string, string> = {};
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < b.length) {
    const space = b.indexOf(32, off);
    if (space < 0) break;
    const len = parseInt(b.toString("utf8", off, space), 10);
    if (!len || off + len > b.length) break;
    const record = b.subarray(space + 1, off + len - 1); // without the trailing newline
    const eq = record.indexOf(61 /* = */);
    if (eq < 0) break;
    const key = record.toString("utf8", 0, eq);
    result[key] = record.toString(key.startsWith(XATTR) ? "latin1" : "utf8", eq + 1);
    off += len;
  }
  return result;
}

export const xattrBytes = (latin1: string) => Buffer.from(latin1, "latin1");
