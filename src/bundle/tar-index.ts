// The members of a tar file found by reading only its headers (512-byte blocks), so that an
// image archive of hundreds of MB costs a few reads to open: its small JSON files and the
// blobs a run needs are then read at their offsets. Knows ustar prefixes, PAX `path`/`linkpath`
// and GNU long names, which is what podman, docker and skopeo write.
import { O } from "../sys/arch";
import { closeFd, fileSize as sizeOf, openPath, preadFull } from "../sys/files";
import { BuncError } from "../sys/errors";
import { decodePax } from "./pax";

export interface TarMember {
  name: string;
  /** "0" file, "1" hard link, "2" symlink, "5" directory, ... (the ustar typeflag). */
  type: string;
  linkname: string;
  /** Where the member's data starts in the file, and its length. */
  offset: number;
  size: number;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)));

function octal(b: Uint8Array): number {
  if (b[0]! & 0x80) {
    // base-256 (GNU) for sizes past 8 GiB
    let n = 0;
    for (let i = 1; i < b.length; i++) n = n * 256 + b[i]!;
    return n;
  }
  const s = text(b).trim();
  return s ? parseInt(s, 8) : 0;
}

const checksumOk = (h: Uint8Array) => {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === octal(h.subarray(148, 156));
};

/** Every member of the tar at `path` (or `fd`), in order; throws naming `label` when it is not a tar. */
export function indexTar(path: string, label = path): TarMember[] {
  const fd = openPath(path, O.RDONLY | O.CLOEXEC);
  try {
    return indexTarFd(fd, sizeOf(fd), label);
  } finally {
    closeFd(fd);
  }
}

export function indexTarFd(fd: number, fileSize: number, label: string): TarMember[] {
  const read = (pos: number, n: number) => {
    const b = new Uint8Array(n);
    return b.subarray(0, preadFull(fd, b, pos));
  };
  return walk(read, fileSize, label);
}

/** The members of an in-memory tar (a layer), same rules. */
export function indexTarBytes(data: Uint8Array, label: string): TarMember[] {
  return walk((pos, n) => data.subarray(pos, pos + n), data.length, label);
}

function walk(read: (pos: number, n: number) => Uint8Array, fileSize: number, label: string): TarMember[] {
  const members: TarMember[] = [];
  let pos = 0;
  let longName: string | undefined, longLink: string | undefined, pax: Record<string, string> = {};
  while (pos + 512 <= fileSize) {
    const h = read(pos, 512);
    if (h.length < 512) break;
    if (h.every((b) => b === 0)) break; // end of archive
    if (!checksumOk(h)) throw new BuncError(`${label}: not a tar archive (bad header checksum at byte ${pos})`);
    const type = String.fromCharCode(h[156]! || 0x30);
    const size = pax.size !== undefined ? Number(pax.size) : octal(h.subarray(124, 136));
    const offset = pos + 512;
    if (offset + size > fileSize) throw new BuncError(`${label}: truncated tar archive (a member ends past the end of the file)`);
    pos = offset + Math.ceil(size / 512) * 512;
    if (type === "x" || type === "L" || type === "K") {
      const data = read(offset, size);
      if (type === "x") pax = decodePax(data);
      else if (type === "L") longName = text(data);
      else longLink = text(data);
      continue;
    }
    if (type === "g") continue;
    const magic = text(h.subarray(257, 263));
    const prefix = magic.startsWith("ustar") ? text(h.subarray(345, 500)) : "";
    const base = text(h.subarray(0, 100));
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${base}` : base);
    const linkname = pax.linkpath ?? longLink ?? text(h.subarray(157, 257));
    members.push({ name, type, linkname, offset, size });
    longName = longLink = undefined;
    pax = {};
  }
  return members;
}

/** "./a//b/" -> "a/b": archive member names compared as paths. */
export const cleanName = (n: string) => n.split("/").filter((p) => p && p !== ".").join("/");
