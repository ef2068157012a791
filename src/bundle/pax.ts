// PAX records keep xattr values as raw bytes (SCHILY.xattr.*, as GNU tar writes them);
// tar-stream decodes every record as UTF-8, which would mangle binary values such as
// security.capability. This decoder keeps xattr values as latin1 strings (one char per
// byte) for unpack.ts to turn back into bytes; everything else stays UTF-8.
// tar-stream exports no subpaths, so the decoder goes in through its public extract():
// the PAX branches of the Extract prototype's long-header decoding are replaced.
import type { extract as Extract } from "tar-stream";

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

let installed = false;

/** Installs the decoder in tar-stream's Extract (its PAX headers; the GNU long names stay its own). */
export function installPaxDecoder(): void {
  if (installed) return;
  // Loaded here: tar-index.ts reads archives with decodePax alone, without tar-stream.
  const { extract } = require("tar-stream") as { extract: typeof Extract };
  const proto = Object.getPrototypeOf(extract()) as { _decodeLongHeader(this: any, buf: Uint8Array): void };
  const original = proto._decodeLongHeader;
  proto._decodeLongHeader = function (this: any, buf: Uint8Array) {
    const type = this._header?.type;
    if (type === "pax-global-header") this._paxGlobal = decodePax(buf);
    else if (type === "pax-header") this._pax = this._paxGlobal === null ? decodePax(buf) : Object.assign({}, this._paxGlobal, decodePax(buf));
    else original.call(this, buf);
  };
  installed = true;
}

export const xattrBytes = (latin1: string) => Buffer.from(latin1, "latin1");
