// Unpack an untrusted rootfs tarball (gzip or plain tar, detected by magic bytes) into a directory,
// matching GNU tar's extraction: modes incl. setuid/setgid/sticky, owners (as root), mtimes, links,
// device nodes (as root), FIFOs and xattrs. All writes go through RootDir (openat2 confinement).
import { closeSync, existsSync, fstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tryOpenInRoot } from "../sys/openat2";
import { O } from "../sys/arch";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { SyscallError } from "../sys/libc";
import { BuncError } from "../sys/errors";
import { progressBar, type ProgressOutput } from "./progress";
import { RootDir, type Attrs } from "../sys/rootdir";
import { installPaxDecoder, xattrBytes } from "./pax";
import { applyDeletions, isOverlayXattr, isWhiteout, OPAQUE_XATTR, whiteoutTarget, type WhiteoutMode } from "./whiteouts";
import { indexTarBytes } from "./tar-index";
import { Below } from "./copy-up";

installPaxDecoder();

export const DEFAULT_MAX_BYTES = 2 * 1024 ** 3; // uncompressed archive size
export const DEFAULT_MAX_ENTRIES = 1_000_000;

export interface UnpackOptions {
  /** Empty a non-empty target first instead of refusing it. */
  force?: boolean;
  /** Largest uncompressed archive accepted, in bytes. */
  maxBytes?: number;
  maxEntries?: number;
  /** Draw a progress bar here (the CLI passes its stderr) when it is a TTY and the archive is large; default: none. */
  progress?: ProgressOutput;
  /** Called once per distinct warning (skipped devices, stripped leading "/", ...). */
  onWarning?: (message: string) => void;
}

export interface UnpackResult {
  entries: number;
  bytes: number;
  warnings: string[];
  /** Overlay layers: whether a hard link named a file of the layers below (copied up: the tree depends on them). */
  usedBelow?: boolean;
}

interface LayerOptions extends UnpackOptions {
  whiteouts: WhiteoutMode;
  /** "overlay": the trees of the layers below, top first, where a hard link's target not in this layer is found (copy-up.ts). */
  below?: string[];
  /**
   * "apply" as a user: directories are left writable by their owner (later layers write into
   * and delete from them, which a user cannot in a 0555 /usr/bin) and their attributes are
   * kept here, for applyDirAttrs once every layer is written.
   */
  deferDirs?: Map<string, Attrs>;
}

export class UnpackError extends BuncError {
  override name = "UnpackError";
}

/** Unpack `input` (a path or the archive bytes) into `target`, removing partial output on failure. */
export async function unpackRootfs(input: string | Uint8Array, target: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const label = typeof input === "string" ? input : "archive";
  const data = typeof input === "string" ? readArchive(input) : input;
  const created = prepareTarget(target, !!opts.force, label);
  let root: RootDir | undefined;
  try {
    const archive = decompress(data, opts.maxBytes ?? DEFAULT_MAX_BYTES);
    root = new RootDir(target);
    return await extract(archive, root, opts);
  } catch (e) {
    root?.close();
    root = undefined;
    removeOutput(target, created);
    const reason = e instanceof UnpackError || e instanceof SyscallError ? e.message : `corrupt archive: ${(e as Error).message}`;
    throw new UnpackError(`cannot unpack ${label}: ${reason}`, { cause: e });
  } finally {
    root?.close();
  }
}

/**
 * One image layer (an uncompressed tar) into `target`, with the same safety as a rootfs
 * tarball; its whiteouts as overlay markers or applied to what `target` holds (whiteouts.ts).
 * The caller owns `target` (a temporary directory it removes on failure).
 */
export async function unpackLayer(tarBytes: Uint8Array, target: string, opts: LayerOptions): Promise<UnpackResult> {
  mkdirSync(target, { recursive: true, mode: 0o755 });
  const root = new RootDir(target);
  let below: Below | undefined;
  const getBelow = () => (below ??= new Below(opts.below ?? [], indexTarBytes(tarBytes, "layer")));
  try {
    if (opts.whiteouts === "apply") applyDeletions(root, indexTarBytes(tarBytes, "layer"));
    const r = await extract(tarBytes, root, { ...opts, below: opts.whiteouts === "overlay" && opts.below?.length ? getBelow : undefined });
    return { ...r, usedBelow: !!below?.used };
  } catch (e) {
    throw e instanceof BuncError ? e : new UnpackError(`corrupt layer: ${(e as Error).message}`, { cause: e });
  } finally {
    below?.close();
    root.close();
  }
}

/** The attributes unpackLayer kept in `deferDirs`, deepest first; directories later layers removed are skipped. */
export function applyDirAttrs(target: string, dirs: Map<string, Attrs>): void {
  const root = new RootDir(target);
  try {
    for (const d of [...dirs.keys()].sort((a, b) => depth(b) - depth(a))) root.setAttrs(d ? d.split("/") : [], dirs.get(d)!);
  } finally {
    root.close();
  }
}

/** A missing or unreadable tarball is the user's typo, not a corrupt archive. */
function readArchive(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e: any) {
    throw new UnpackError(e.code === "ENOENT" ? `${path}: no such file` : `${path}: cannot read: ${e.code ?? e.message}`);
  }
}

/** Returns whether the target was created (so cleanup removes it rather than its contents). */
function prepareTarget(target: string, force: boolean, label: string): boolean {
  if (!existsSync(target)) {
    mkdirSync(target, { recursive: true, mode: 0o755 });
    return true;
  }
  if (!statSync(target).isDirectory()) throw new UnpackError(`cannot unpack ${label}: ${target} is not a directory`);
  if (readdirSync(target).length > 0) {
    if (!force) throw new UnpackError(`cannot unpack ${label}: ${target} is not empty (use --force to replace it)`);
    removeOutput(target, false);
  }
  return false;
}

function removeOutput(target: string, created: boolean): void {
  if (created) return rmSync(target, { recursive: true, force: true });
  for (const e of readdirSync(target)) rmSync(join(target, e), { recursive: true, force: true });
}

const DEFLATE_MAX_RATIO = 1032; // deflate cannot expand input by more than this

function decompress(data: Uint8Array, maxBytes: number): Uint8Array {
  const gzip = data[0] === 0x1f && data[1] === 0x8b;
  let archive = data;
  if (gzip) {
    try {
      // Bun.gunzipSync is fastest but unbounded: use it only when the output cannot exceed the limit.
      archive = data.length * DEFLATE_MAX_RATIO <= maxBytes ? Bun.gunzipSync(data as Uint8Array<ArrayBuffer>) : gunzipSync(data, { maxOutputLength: maxBytes + 1 });
    } catch (e) {
      if ((e as any)?.code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(maxBytes);
      throw new UnpackError("truncated or corrupt gzip data");
    }
  }
  if (archive.length > maxBytes) throw tooLarge(maxBytes);
  const other = otherCompression(archive);
  if (other) throw new UnpackError(`${other}-compressed: bunc reads tar and gzip; decompress it first (${other} -d)`);
  const magic = new TextDecoder().decode(archive.subarray(257, 262));
  if (archive.length < 512 || magic !== "ustar") throw new UnpackError(gzip ? "gzip data is not a tar archive" : "not a gzip or tar archive (unknown magic bytes)");
  return archive;
}

/** A compression bunc does not read for rootfs tarballs, by its magic bytes. */
function otherCompression(b: Uint8Array): string | undefined {
  const starts = (m: number[]) => m.every((x, i) => b[i] === x);
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) return "zstd";
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz";
  if (starts([0x42, 0x5a, 0x68])) return "bzip2";
  return undefined;
}

const tooLarge = (max: number) => new UnpackError(`archive is larger than the limit of ${max} bytes`);

async function extract(archive: Uint8Array, root: RootDir, opts: UnpackOptions & { whiteouts?: WhiteoutMode; below?: () => Below; deferDirs?: Map<string, Attrs> }): Promise<UnpackResult> {
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const warnings: string[] = [];
  const said = new Set<string>();
  const warn = (m: string) => {
    const kind = m.replace(/, e\.g\. .*$/s, ""); // once per kind: "skipped device nodes (not root), e.g. dev/x"
    if (said.has(kind)) return;
    said.add(kind);
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const asRoot = process.geteuid?.() === 0;
  let chown = asRoot;
  const xattrDenied = (e: unknown): e is SyscallError =>
    e instanceof SyscallError && (e.syscall === "lsetxattr" || e.syscall === "setxattr") && ["EPERM", "EACCES", "ENOTSUP", "EOPNOTSUPP"].includes(e.code);
  /**
   * setAttrs, going on without what this process may not set, said once: owners (unmapped in a
   * user namespace) and xattrs (trusted.* and security.* as a user; never overlay's own markers).
   */
  const apply = (parts: string[], a: Attrs): boolean => {
    try {
      return root.setAttrs(parts, a);
    } catch (e) {
      if (chown && e instanceof SyscallError && e.syscall === "fchownat" && (e.code === "EINVAL" || e.code === "EPERM")) {
        warn(`cannot apply owners (${e.code}); extracting without them`);
        chown = false;
        delete a.uid;
        return apply(parts, a);
      }
      if (!xattrDenied(e) || !a.xattrs?.length) throw e;
      const done = root.setAttrs(parts, { ...a, xattrs: undefined });
      for (const x of a.xattrs) {
        try {
          root.setAttrs(parts, { ...a, xattrs: [x] });
        } catch (e2) {
          if (!xattrDenied(e2) || isOverlayXattr(x[0])) throw e2;
          warn(`skipped xattrs this process may not set (${e2.code}), e.g. ${x[0]} on ${parts.join("/")}`);
        }
      }
      return done;
    }
  };
  const dirs = new Map<string, Attrs>();
  const opaque = new Map<string, Attrs>(); // overlay mode: directories to mark opaque once written
  /**
   * Overlay mode: a directory this layer writes into without an entry (yet) is made here, and
   * as the upper one it decides the merged directory's attributes: it takes those of the
   * layers below (a layer adding tmp/x keeps /tmp 1777). An entry of its own, later, wins.
   */
  const looked = new Set<string>();
  const inheritParents = (parts: string[]) => {
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i), key = p.join("/");
      if (looked.has(key)) continue;
      looked.add(key);
      if (dirs.has(key) || existsInRoot(root, p)) continue;
      const a = opts.below!().dirAttrs(p, chown);
      if (!a) continue; // new in this layer: made implicitly (0755), as tar does
      root.mkdir(p, 0o755);
      dirs.set(key, a);
    }
  };
  const bar = progressBar(archive.length, opts.progress);
  let entries = 0, bytes = 0;

  const parser = tar.extract();
  parser.end(archive);
  for await (const entry of parser) {
    const h = entry.header;
    const chunks: Uint8Array[] = [];
    for await (const c of entry) chunks.push(c as Uint8Array);
    if (++entries > maxEntries) throw new UnpackError(`archive has more than ${maxEntries} entries`);
    bytes += h.size ?? 0;
    bar.update((h as { byteOffset?: number }).byteOffset ?? 0, entries); // set by tar-stream, not in its types

    // A rootfs tarball's ".." member is skipped with a warning, as GNU tar does; an image layer is refused whole (a hostile image).
    if (opts.whiteouts && h.name.split("/").includes("..")) throw new UnpackError(`member ${h.name} leaves the root`);
    const parts = splitName(h.name, warn);
    if (!parts || (parts.length === 0 && h.type !== "directory")) continue;
    const attrs = attrsOf(h, chown);
    if (opts.below && parts.length > 1) inheritParents(parts);
    if (opts.whiteouts) {
      if (attrs.xattrs) attrs.xattrs = attrs.xattrs.filter(([k]) => !isOverlayXattr(k));
      if (parts.length && isWhiteout(parts.at(-1)!)) {
        const t = whiteoutTarget(parts);
        if (opts.whiteouts === "apply") continue; // done before the first entry
        if (t.name === undefined) {
          if (t.dir.length) root.mkdir(t.dir, 0o755);
          opaque.set(t.dir.join("/"), { ...attrs, mode: 0o755, isDir: true });
        } else {
          const at = [...t.dir, t.name];
          root.mknod(at, "char", 0, 0, 0);
          root.setAttrs(at, { ...attrs, mode: 0, xattrs: undefined });
        }
        continue;
      }
    }
    switch (h.type) {
      case "file":
      case "contiguous-file":
        root.writeFile(parts, chunks);
        break;
      case "directory":
        if (parts.length) root.mkdir(parts, 0o755);
        dirs.set(parts.join("/"), { ...attrs, isDir: true }); // applied last: later entries write into it
        continue;
      case "symlink":
        root.symlink(parts, h.linkname ?? "");
        attrs.isSymlink = true;
        break;
      case "link": {
        if (opts.whiteouts && (h.linkname ?? "").split("/").includes("..")) throw new UnpackError(`hard link ${h.name} -> ${h.linkname} leaves the root`);
        const target = splitName(h.linkname ?? "", warn);
        if (!target?.length) continue;
        if (opts.whiteouts && !existsInRoot(root, target)) {
          // a file of the layers below: copied into this one first ("overlay"; "apply" has them all)
          const copied = opts.below?.().copyUp(root, target, chown, (d, a) => { if (!dirs.has(d)) dirs.set(d, a); });
          if (!copied) throw new UnpackError(`hard link ${h.name} -> ${h.linkname}: ${opts.whiteouts === "overlay" ? "no such file in this layer or the layers below" : "no such file"}`);
        }
        root.link(parts, target);
        continue; // a hard link shares the target's inode and attributes
      }
      case "fifo":
      case "character-device":
      case "block-device": {
        const kind = h.type === "fifo" ? "fifo" : h.type === "character-device" ? "char" : "block";
        if (kind !== "fifo" && !asRoot) {
          warn(`skipped device nodes (not root), e.g. ${h.name}`);
          continue;
        }
        try {
          root.mknod(parts, kind, attrs.mode, h.devmajor, h.devminor);
        } catch (e) {
          if (!(e instanceof SyscallError && e.code === "EPERM" && kind !== "fifo")) throw e;
          warn(`skipped device nodes (not permitted), e.g. ${h.name}`);
          continue;
        }
        break;
      }
      default:
        warn(`skipped unsupported entry type ${h.type}: ${h.name}`);
        continue;
    }
    apply(parts, attrs);
  }
  for (const [d, a] of opaque) {
    const own = dirs.get(d) ?? a;
    dirs.set(d, { ...own, xattrs: [...(own.xattrs ?? []), OPAQUE_XATTR] });
  }
  // Deepest directories first, so a parent made read-only does not block its children.
  const order = [...dirs.keys()].sort((a, b) => depth(b) - depth(a));
  for (const d of order) {
    const a = dirs.get(d)!;
    if (!chown) delete a.uid;
    if (opts.deferDirs) opts.deferDirs.set(d, a);
    if (!apply(d ? d.split("/") : [], opts.deferDirs ? { ...a, mode: a.mode | 0o700 } : a)) warn(`directory ${d} was replaced by a later entry`);
  }
  bar.done();
  return { entries, bytes, warnings };
}

/** Whether `parts` names something in the root that is not an overlay whiteout marker (never following its last symlink). */
function existsInRoot(root: RootDir, parts: string[]): boolean {
  const fd = tryOpenInRoot(root.fd, parts.join("/"), O.PATH | O.NOFOLLOW | O.CLOEXEC);
  if (fd < 0) return false;
  try {
    const st = fstatSync(fd);
    return !(st.isCharacterDevice() && st.rdev === 0);
  } finally {
    closeSync(fd);
  }
}

const depth = (p: string) => (p ? p.split("/").length : 0);

/** Archive name -> path components inside the root; null (skipped) when it contains "..". */
function splitName(name: string, warn: (m: string) => void): string[] | null {
  if (name.startsWith("/")) warn("removing leading '/' from member names");
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    warn(`skipped member name containing '..': ${name}`);
    return null;
  }
  return parts;
}

function attrsOf(h: tar.Header, chown: boolean): Attrs {
  const pax = (h.pax ?? {}) as Record<string, string>;
  const a: Attrs = { mode: (h.mode ?? 0o644) & 0o7777, mtime: paxTime(pax.mtime) ?? { sec: Math.floor((h.mtime?.getTime() ?? 0) / 1000), nsec: 0 } };
  if (chown) {
    a.uid = pax.uid !== undefined ? Number(pax.uid) : h.uid ?? 0;
    a.gid = pax.gid !== undefined ? Number(pax.gid) : h.gid ?? 0;
  }
  const xattrs = Object.entries(pax).filter(([k]) => k.startsWith("SCHILY.xattr."));
  if (xattrs.length) a.xattrs = xattrs.map(([k, v]) => [k.slice("SCHILY.xattr.".length), xattrBytes(v)]);
  return a;
}

/** PAX times are decimal seconds with an optional fraction ("1725622440.123456789"). */
function paxTime(v: string | undefined): { sec: number; nsec: number } | undefined {
  const m = v?.match(/^(-?\d+)(?:\.(\d{1,9}))?/);
  if (!m) return undefined;
  return { sec: Number(m[1]), nsec: Number((m[2] ?? "").padEnd(9, "0")) };
}
