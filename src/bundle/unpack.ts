// Unpack an untrusted rootfs tarball (gzip or plain tar, detected by magic bytes) into a directory,
// matching GNU tar's extraction: modes incl. setuid/setgid/sticky, owners (as root), mtimes, links,
// device nodes (as root), FIFOs and xattrs. All writes go through RootDir (openat2 confinement).
import { closeFd, fileSize, isDirectory, makeDirectories, pathExists, readDirectory } from "../sys/files";
import { tryOpenInRoot } from "../sys/openat2";
import { O } from "../sys/arch";
import { SyscallError } from "../sys/libc";
import { BuncError } from "../sys/errors";
import { progressBar, type ProgressOutput } from "./progress";
import { RootDir, writeAll, type Attrs } from "../sys/rootdir";
import { xattrBytes } from "./pax";
import { TarReader, type BodySink, type TarHeader } from "./tar-reader";
import { openArchive, streamArchive } from "./archive-stream";
import { UnpackError } from "./unpack-error";
import { applyDeletions, isOverlayXattr, isWhiteout, OPAQUE_XATTR, whiteoutTarget, type WhiteoutMode } from "./whiteouts";
import { indexTarBytes } from "./tar-index";
import { Below } from "./copy-up";

export { UnpackError };

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

/**
 * Unpack `input` (a path or the archive bytes) into `target`, removing partial output on failure.
 * The archive streams through: read, inflated and written a chunk at a time.
 */
export async function unpackRootfs(input: string | Uint8Array, target: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  const label = typeof input === "string" ? input : "archive";
  const source = typeof input === "string" ? openArchive(input) : input;
  let root: RootDir | undefined;
  let extractor: Extractor | undefined;
  try {
    const created = prepareTarget(target, !!opts.force, label);
    try {
      root = new RootDir(target);
      extractor = createExtractor(root, opts);
      const reader = new TarReader((h) => extractor!.member(h));
      const bar = progressBar(typeof input === "string" ? fileSize(source as number) : input.length, opts.progress);
      streamArchive(source, opts.maxBytes ?? DEFAULT_MAX_BYTES, (chunk) => reader.push(chunk), (read) => bar.update(read, extractor!.entries));
      reader.end();
      const result = extractor.finish();
      bar.done();
      return result;
    } catch (e) {
      extractor?.abort();
      root?.close();
      root = undefined;
      removeOutput(target, created);
      const reason = e instanceof UnpackError || e instanceof SyscallError ? e.message : `corrupt archive: ${(e as Error).message}`;
      throw new UnpackError(`cannot unpack ${label}: ${reason}`, { cause: e });
    }
  } finally {
    root?.close();
    if (typeof source === "number") closeFd(source);
  }
}

/**
 * One image layer (an uncompressed tar) into `target`, with the same safety as a rootfs
 * tarball; its whiteouts as overlay markers or applied to what `target` holds (whiteouts.ts).
 * The caller owns `target` (a temporary directory it removes on failure).
 */
export async function unpackLayer(tarBytes: Uint8Array, target: string, opts: LayerOptions): Promise<UnpackResult> {
  makeDirectories(target, 0o755);
  const root = new RootDir(target);
  let below: Below | undefined;
  const getBelow = () => (below ??= new Below(opts.below ?? [], indexTarBytes(tarBytes, "layer")));
  try {
    if (opts.whiteouts === "apply") applyDeletions(root, indexTarBytes(tarBytes, "layer"));
    const extractor = createExtractor(root, { ...opts, below: opts.whiteouts === "overlay" && opts.below?.length ? getBelow : undefined });
    const reader = new TarReader((h) => extractor.member(h));
    try {
      reader.push(tarBytes); // the bodies are views of tarBytes: nothing is copied
      reader.end();
    } catch (e) {
      extractor.abort();
      throw e;
    }
    return { ...extractor.finish(), usedBelow: !!below?.used };
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

/** Returns whether the target was created (so cleanup removes it rather than its contents). */
function prepareTarget(target: string, force: boolean, label: string): boolean {
  if (!pathExists(target)) {
    makeDirectories(target, 0o755);
    return true;
  }
  if (!isDirectory(target)) throw new UnpackError(`cannot unpack ${label}: ${target} is not a directory`);
  if (readDirectory(target).length > 0) {
    if (!force) throw new UnpackError(`cannot unpack ${label}: ${target} is not empty (use --force to replace it)`);
    removeOutput(target, false);
  }
  return false;
}

/** node:fs only here (a failed or forced unpack): a bundle that works never loads it (~3.5 MiB, ~0.9 ms). */
function removeOutput(target: string, created: boolean): void {
  const { rmSync } = require("node:fs") as typeof import("node:fs");
  if (created) return rmSync(target, { recursive: true, force: true });
  for (const e of readDirectory(target)) rmSync(`${target}/${e}`, { recursive: true, force: true });
}

/** Writes the members a TarReader finds into the root, one at a time; finish() then sets the directories' attributes. */
interface Extractor {
  member(h: TarHeader): BodySink | void;
  readonly entries: number;
  finish(): UnpackResult;
  /** After a failure: close the file being written. */
  abort(): void;
}

function createExtractor(root: RootDir, opts: UnpackOptions & { whiteouts?: WhiteoutMode; below?: () => Below; deferDirs?: Map<string, Attrs> }): Extractor {
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
    e instanceof SyscallError && (e.syscall === "lsetxattr" || e.syscall === "setxattr" || e.syscall === "fsetxattr") && ["EPERM", "EACCES", "ENOTSUP", "EOPNOTSUPP"].includes(e.code);
  /**
   * setAttrs, going on without what this process may not set, said once: owners (unmapped in a
   * user namespace) and xattrs (trusted.* and security.* as a user; never overlay's own markers).
   * `fd`: a file createFile made, still open: its attributes are set through it.
   */
  const apply = (parts: string[], a: Attrs, fd?: number): boolean => {
    const set = (x: Attrs) => (fd === undefined ? root.setAttrs(parts, x) : (root.setFileAttrs(fd, parts.join("/"), x), true));
    try {
      return set(a);
    } catch (e) {
      if (chown && e instanceof SyscallError && e.syscall === "fchownat" && (e.code === "EINVAL" || e.code === "EPERM")) {
        warn(`cannot apply owners (${e.code}); extracting without them`);
        chown = false;
        delete a.uid;
        return apply(parts, a, fd);
      }
      if (!xattrDenied(e) || !a.xattrs?.length) throw e;
      const done = set({ ...a, xattrs: undefined });
      for (const x of a.xattrs) {
        try {
          set({ ...a, xattrs: [x] });
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
  let entries = 0, bytes = 0, writing = -1;

  const member = (h: TarHeader): BodySink | void => {
    if (++entries > maxEntries) throw new UnpackError(`archive has more than ${maxEntries} entries`);
    bytes += h.size;

    // A rootfs tarball's ".." member is skipped with a warning, as GNU tar does; an image layer is refused whole (a hostile image).
    if (opts.whiteouts && h.name.split("/").includes("..")) throw new UnpackError(`member ${h.name} leaves the root`);
    const parts = splitName(h.name, warn);
    if (!parts || (parts.length === 0 && h.type !== "directory")) return;
    const attrs = attrsOf(h, chown);
    if (opts.below && parts.length > 1) inheritParents(parts);
    if (opts.whiteouts) {
      if (attrs.xattrs) attrs.xattrs = attrs.xattrs.filter(([k]) => !isOverlayXattr(k));
      if (parts.length && isWhiteout(parts.at(-1)!)) {
        const t = whiteoutTarget(parts);
        if (opts.whiteouts === "apply") return; // done before the first entry
        if (t.name === undefined) {
          if (t.dir.length) root.mkdir(t.dir, 0o755);
          opaque.set(t.dir.join("/"), { ...attrs, mode: 0o755, isDir: true });
        } else {
          const at = [...t.dir, t.name];
          root.mknod(at, "char", 0, 0, 0);
          root.setAttrs(at, { ...attrs, mode: 0, xattrs: undefined });
        }
        return;
      }
    }
    switch (h.type) {
      case "file":
      case "contiguous-file": {
        const fd = (writing = root.createFile(parts));
        const end = () => {
          writing = -1;
          try {
            apply(parts, attrs, fd);
          } finally {
            closeFd(fd);
          }
        };
        return { data: (chunk) => writeAll(fd, chunk), end }; // written as it arrives
      }
      case "directory":
        if (parts.length) root.mkdir(parts, 0o755);
        dirs.set(parts.join("/"), { ...attrs, isDir: true }); // applied last: later entries write into it
        return;
      case "symlink":
        root.symlink(parts, h.linkname);
        attrs.isSymlink = true;
        break;
      case "link": {
        if (opts.whiteouts && h.linkname.split("/").includes("..")) throw new UnpackError(`hard link ${h.name} -> ${h.linkname} leaves the root`);
        const target = splitName(h.linkname, warn);
        if (!target?.length) return;
        if (opts.whiteouts && !existsInRoot(root, target)) {
          // a file of the layers below: copied into this one first ("overlay"; "apply" has them all)
          const copied = opts.below?.().copyUp(root, target, chown, (d, a) => { if (!dirs.has(d)) dirs.set(d, a); });
          if (!copied) throw new UnpackError(`hard link ${h.name} -> ${h.linkname}: ${opts.whiteouts === "overlay" ? "no such file in this layer or the layers below" : "no such file"}`);
        }
        root.link(parts, target);
        return; // a hard link shares the target's inode and attributes
      }
      case "fifo":
      case "character-device":
      case "block-device": {
        const kind = h.type === "fifo" ? "fifo" : h.type === "character-device" ? "char" : "block";
        if (kind !== "fifo" && !asRoot) {
          warn(`skipped device nodes (not root), e.g. ${h.name}`);
          return;
        }
        try {
          root.mknod(parts, kind, attrs.mode, h.devmajor, h.devminor);
        } catch (e) {
          if (!(e instanceof SyscallError && e.code === "EPERM" && kind !== "fifo")) throw e;
          warn(`skipped device nodes (not permitted), e.g. ${h.name}`);
          return;
        }
        break;
      }
      default:
        warn(`skipped unsupported entry type ${h.type}: ${h.name}`);
        return;
    }
    apply(parts, attrs);
  };

  const finish = (): UnpackResult => {
    for (const [d, a] of opaque) {
      const own = dirs.get(d) ?? a;
      dirs.set(d, { ...own, xattrs: [...(own.xattrs ?? []), OPAQUE_XATTR] });
    }
    // Deepest directories first, so a parent made read-only does not block its children.
    const order: { d: string; a: Attrs; depth: number }[] = [];
    dirs.forEach((a, d) => void order.push({ d, a, depth: depth(d) }));
    order.sort((x, y) => y.depth - x.depth);
    for (let i = 0; i < order.length; i++) {
      const { d, a } = order[i]!;
      if (!chown) delete a.uid;
      if (opts.deferDirs) opts.deferDirs.set(d, a);
      if (!apply(d ? d.split("/") : [], opts.deferDirs ? { ...a, mode: a.mode | 0o700 } : a)) warn(`directory ${d} was replaced by a later entry`);
    }
    return { entries, bytes, warnings };
  };
  const abort = () => {
    if (writing >= 0) closeFd(writing);
    writing = -1;
  };
  return { member, finish, abort, get entries() { return entries; } };
}

/** Whether `parts` names something in the root that is not an overlay whiteout marker (never following its last symlink). */
function existsInRoot(root: RootDir, parts: string[]): boolean {
  const fd = tryOpenInRoot(root.fd, parts.join("/"), O.PATH | O.NOFOLLOW | O.CLOEXEC);
  if (fd < 0) return false;
  try {
    const st = (require("node:fs") as typeof import("node:fs")).fstatSync(fd); // image layers only
    return !(st.isCharacterDevice() && st.rdev === 0);
  } finally {
    closeFd(fd);
  }
}

const depth = (p: string) => (p ? p.split("/").length : 0);

/** Archive name -> path components inside the root; null (skipped) when it contains "..". */
function splitName(name: string, warn: (m: string) => void): string[] | null {
  if (name.startsWith("/")) warn("removing leading '/' from member names");
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "..") {
      warn(`skipped member name containing '..': ${name}`);
      return null;
    }
    if (p !== "" && p !== ".") parts.push(p);
  }
  return parts;
}

function attrsOf(h: TarHeader, chown: boolean): Attrs {
  const a: Attrs = { mode: (h.mode ?? 0o644) & 0o7777, mtime: { sec: h.mtime, nsec: 0 } };
  if (chown) {
    a.uid = h.uid ?? 0;
    a.gid = h.gid ?? 0;
  }
  const pax = h.pax as Record<string, string> | undefined;
  if (!pax) return a; // most members of most archives: nothing more to look at
  a.mtime = paxTime(pax.mtime) ?? a.mtime;
  if (chown) {
    if (pax.uid !== undefined) a.uid = Number(pax.uid);
    if (pax.gid !== undefined) a.gid = Number(pax.gid);
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
