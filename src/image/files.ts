// The files of an image on disk, whatever holds them: an OCI layout directory, or a tar of
// one (OCI archive) or of `docker save` (docker archive). Archives are read by their headers
// (tar-index.ts), their members at their offsets: a cached run reads a few small JSON files.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { indexTarFd, cleanName, type TarMember } from "../bundle/tar-index";
import { BuncError } from "../sys/errors";

export interface ImageFiles {
  /** What the user named (for errors). */
  label: string;
  kind: "oci-layout" | "oci-archive" | "docker-archive";
  /** A file by its path in the layout/archive (e.g. "index.json", "blobs/sha256/<hex>"); undefined when absent. */
  read(name: string): Uint8Array | undefined;
  has(name: string): boolean;
  close(): void;
}

/** The layout directory `dir`, when it is one (index.json and oci-layout). */
function layoutDir(dir: string, label: string): ImageFiles | undefined {
  if (!existsSync(join(dir, "index.json"))) return undefined;
  // Only index.json and blobs/<alg>/<hex> are read: names built from checked digests, never from the image.
  const path = (name: string) => (name === "index.json" || name === "oci-layout" || /^blobs\/sha256\/[0-9a-f]{64}$/.test(name) ? join(dir, name) : undefined);
  return {
    label, kind: "oci-layout",
    read(name) {
      const p = path(name);
      try {
        return p && statSync(p).isFile() ? readFileSync(p) : undefined;
      } catch {
        return undefined;
      }
    },
    has: (name) => !!path(name) && existsSync(path(name)!),
    close() {},
  };
}

/** A member's path resolved through the archive's own symlinks (docker archives link layer.tar files), as a map key. */
function memberReader(fd: number, members: Map<string, TarMember>) {
  const find = (name: string, hops = 0): TarMember | undefined => {
    const m = members.get(cleanName(name));
    if (!m || hops > 8) return undefined;
    if (m.type === "2" || m.type === "1") {
      const target = m.type === "2" ? join(m.name, "..", m.linkname) : m.linkname;
      return target.startsWith("..") ? undefined : find(target, hops + 1);
    }
    return m.type === "0" || m.type === "7" ? m : undefined;
  };
  return {
    find,
    read(name: string): Uint8Array | undefined {
      const m = find(name);
      if (!m) return undefined;
      const b = new Uint8Array(m.size);
      for (let got = 0; got < m.size; ) {
        const n = readSync(fd, b, got, m.size - got, m.offset + got);
        if (n === 0) throw new BuncError(`${name}: truncated`);
        got += n;
      }
      return b;
    },
  };
}

/** `docker save | gzip` would otherwise run as a rootfs holding manifest.json: its first member says what it is. */
function refuseCompressedImage(fd: number, label: string): void {
  const start = new Uint8Array(64 * 1024);
  const n = readSync(fd, start, 0, start.length, 0);
  let first: Uint8Array;
  try {
    first = require("node:zlib").gunzipSync(start.subarray(0, n), { finishFlush: require("node:zlib").constants.Z_SYNC_FLUSH });
  } catch {
    return; // not readable this way: left to the tarball unpacker, which says what is wrong
  }
  const name = cleanName(new TextDecoder().decode(first.subarray(0, 100)).replace(/\0.*$/s, ""));
  if (/^(manifest\.json|index\.json|oci-layout|repositories|blobs(\/.*)?|[0-9a-f]{64}(\.tar|\.json|\/.*)?)$/.test(name)) {
    throw new BuncError(`${label}: a compressed image archive; give it uncompressed (gunzip it), as docker save and podman save write it`);
  }
}

/** An archive (a tar holding index.json, or manifest.json); undefined when the tar is neither (a rootfs tarball). */
function archive(path: string, label: string): ImageFiles | undefined {
  const fd = openSync(path, "r");
  try {
    const head = new Uint8Array(512);
    readSync(fd, head, 0, 512, 0);
    // gzip, zstd or too short: a rootfs tarball (image archives are plain tar, as `docker save` writes them).
    if (head[0] === 0x1f || head[0] === 0x28 || new TextDecoder().decode(head.subarray(257, 262)) !== "ustar") {
      if (head[0] === 0x1f && head[1] === 0x8b) refuseCompressedImage(fd, label);
      closeSync(fd);
      return undefined;
    }
    const members = new Map(indexTarFd(fd, fstatSync(fd).size, label).map((m) => [cleanName(m.name), m]));
    const r = memberReader(fd, members);
    const kind = r.find("index.json") && r.find("oci-layout") ? "oci-archive" : r.find("manifest.json") ? "docker-archive" : undefined;
    if (!kind) {
      closeSync(fd);
      return undefined;
    }
    return { label, kind, read: r.read, has: (n) => !!r.find(n), close: () => closeSync(fd) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The image files at `path`, or undefined when it is not an image (a rootfs tarball or directory, a bundle). */
export function openImage(path: string, label = path): ImageFiles | undefined {
  const st = statSync(path);
  if (st.isDirectory()) return existsSync(join(path, "config.json")) ? undefined : layoutDir(path, label);
  return st.isFile() ? archive(path, label) : undefined;
}

/**
 * Why directory `dir` (neither an image nor a bundle) cannot be a rootfs, when it plainly is
 * not one: a user's wrong path is one line here, not "executable file not found" from the run.
 */
export function notARootfs(dir: string, label = dir): string | undefined {
  // the mount points an earlier run made in it do not count
  const names = readdirSync(dir).filter((n) => !(["dev", "proc", "sys"].includes(n) && isEmptyDir(join(dir, n))));
  if (!names.length) return `${label}: an empty directory, not an image, rootfs or bundle`;
  if (names.some((n) => ["bin", "usr", "sbin", "lib", "etc"].includes(n))) return undefined;
  if (names.includes("oci-layout") || (names.includes("blobs") && !names.includes("index.json"))) return `${label}: an OCI layout without index.json`;
  if (names.includes("manifest.json")) return `${label}: an unpacked docker archive; give the archive (the .tar docker save wrote)`;
  return undefined;
}

function isEmptyDir(p: string): boolean {
  try {
    return statSync(p).isDirectory() && readdirSync(p).length === 0;
  } catch {
    return false;
  }
}
