// A hard link in an image layer may name a file a lower layer made: the layer's tar holds the
// new name only (the file was not changed). A layer unpacked as an overlay lower directory
// (whiteouts.ts "overlay") must then hold the file itself, as overlayfs's own copy-up does on
// link(2) in a container: the file is looked up in the layers below (top first, as overlayfs
// does: a whiteout or a non-directory on the way hides what is under it, an opaque directory
// the layers under it), copied into this layer with its owner, mode, times and xattrs, its
// missing parent directories with theirs, and the link is made to the copy. Lower trees are
// read through openat2(RESOLVE_IN_ROOT) fds: a symlink in them never leads out of them.
import type { BigIntStats } from "node:fs";
// node:fs when a layer is applied (images): `bunc bundle` never loads it (~3.5 MiB, ~0.9 ms).
const fs = () => require("node:fs") as typeof import("node:fs");
import { getXattr, listXattrs, readlinkFd } from "../sys/xattr";
import { tryOpenInRoot } from "../sys/openat2";
import { O } from "../sys/arch";
import type { Attrs, RootDir } from "../sys/rootdir";
import { isOverlayXattr, isWhiteout, OPAQUE_MARKER, whiteoutTarget } from "./whiteouts";
import { cleanName, type TarMember } from "./tar-index";

const ENOENT = 2;
const S_IFMT = 0o170000n, S_IFDIR = 0o040000n, S_IFREG = 0o100000n, S_IFLNK = 0o120000n, S_IFIFO = 0o010000n, S_IFCHR = 0o020000n;

interface Found { fd: number; st: BigIntStats }

const isWhiteoutNode = (st: BigIntStats) => (st.mode & S_IFMT) === S_IFCHR && st.rdev === 0n;
const isDir = (st: BigIntStats) => (st.mode & S_IFMT) === S_IFDIR;

/** The layers below a layer being unpacked, and what the layer itself deletes from them. */
export class Below {
  private readonly fds: number[];
  private readonly gone = new Set<string>();
  private readonly opaque = new Set<string>();
  /** Whether anything was copied up (the layer's tree then depends on the layers below). */
  used = false;

  /** `trees`: the lower trees, top first; `members`: the layer's own members (for its whiteouts). */
  constructor(trees: string[], members: TarMember[]) {
    this.fds = trees.map((t) => fs().openSync(t, O.PATH | O.DIRECTORY | O.CLOEXEC));
    for (const m of members) {
      const parts = cleanName(m.name).split("/").filter(Boolean);
      if (!parts.length || parts.includes("..") || !isWhiteout(parts.at(-1)!)) continue;
      if (parts.at(-1) === OPAQUE_MARKER) this.opaque.add(parts.slice(0, -1).join("/"));
      else {
        const t = whiteoutTarget(parts);
        this.gone.add([...t.dir, t.name].join("/"));
      }
    }
  }

  close(): void {
    for (const fd of this.fds.splice(0)) fs().closeSync(fd);
  }

  /** `parts` as the layers below show it through this layer's whiteouts; undefined when absent or hidden. */
  lookup(parts: string[]): Found | undefined {
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      if (this.gone.has(p) || (i < parts.length && this.opaque.has(p))) return undefined;
    }
    for (const tree of this.fds) {
      let opaqueHere = false;
      for (let i = 1; i <= parts.length; i++) {
        const fd = tryOpenInRoot(tree, parts.slice(0, i).join("/"), O.PATH | O.NOFOLLOW | O.CLOEXEC);
        if (fd === -ENOENT) break;
        if (fd < 0) return undefined;
        const st = fs().fstatSync(fd, { bigint: true });
        if (isWhiteoutNode(st)) return void fs().closeSync(fd);
        if (i === parts.length) return { fd, st };
        if (!isDir(st)) return void fs().closeSync(fd);
        if (getXattr(`/proc/self/fd/${fd}`, "trusted.overlay.opaque")?.[0] === 0x79 /* y */) opaqueHere = true;
        fs().closeSync(fd);
      }
      if (opaqueHere) return undefined;
    }
    return undefined;
  }

  private attrs(f: Found, chown: boolean): Attrs {
    const a: Attrs = { mode: Number(f.st.mode & 0o7777n), mtime: { sec: Number(f.st.mtimeNs / 1_000_000_000n), nsec: Number(f.st.mtimeNs % 1_000_000_000n) } };
    if (chown) {
      a.uid = Number(f.st.uid);
      a.gid = Number(f.st.gid);
    }
    if ((f.st.mode & S_IFMT) === S_IFLNK) a.isSymlink = true;
    else {
      const proc = `/proc/self/fd/${f.fd}`;
      const xs = listXattrs(proc).filter((k) => !isOverlayXattr(k)).map((k): [string, Uint8Array | undefined] => [k, getXattr(proc, k)]);
      const got = xs.filter((x): x is [string, Uint8Array] => x[1] !== undefined);
      if (got.length) a.xattrs = got;
    }
    return a;
  }

  /**
   * The attributes of directory `parts` as the layers below show it, for a directory this layer
   * writes into without an entry of its own (containerd's applier does the same); undefined
   * when no layer below has it as a directory.
   */
  dirAttrs(parts: string[], chown: boolean): Attrs | undefined {
    const d = this.lookup(parts);
    if (!d) return undefined;
    try {
      if (!isDir(d.st)) return undefined;
      this.used = true;
      return { ...this.attrs(d, chown), isDir: true };
    } finally {
      fs().closeSync(d.fd);
    }
  }

  /**
   * Copies `parts` up from the layers below into `root` (its missing parents too, their
   * attributes given to `dirAttrs` to be set once the layer is written); false when no layer
   * below has it.
   */
  copyUp(root: RootDir, parts: string[], chown: boolean, dirAttrs: (path: string, a: Attrs) => void): boolean {
    const f = this.lookup(parts);
    if (!f) return false;
    try {
      const type = f.st.mode & S_IFMT;
      if (type === S_IFDIR) return false; // a hard link to a directory: refused as before
      for (let i = 1; i < parts.length; i++) {
        const p = parts.slice(0, i);
        const own = tryOpenInRoot(root.fd, p.join("/"), O.PATH | O.NOFOLLOW | O.CLOEXEC);
        if (own >= 0) {
          fs().closeSync(own);
          continue;
        }
        const d = this.lookup(p);
        if (!d) continue; // made as an implicit parent by the write below
        try {
          if (isDir(d.st)) {
            root.mkdir(p, 0o755);
            dirAttrs(p.join("/"), { ...this.attrs(d, chown), isDir: true });
          }
        } finally {
          fs().closeSync(d.fd);
        }
      }
      if (type === S_IFREG) root.writeFile(parts, [fs().readFileSync(`/proc/self/fd/${f.fd}`)]);
      else if (type === S_IFLNK) {
        const target = readlinkFd(f.fd);
        if (target === undefined) return false;
        root.symlink(parts, target);
      } else if (type === S_IFIFO) root.mknod(parts, "fifo", 0);
      else {
        const major = Number((f.st.rdev >> 8n) & 0xfffn), minor = Number((f.st.rdev & 0xffn) | ((f.st.rdev >> 12n) & 0xfff00n));
        root.mknod(parts, type === S_IFCHR ? "char" : "block", 0, major, minor);
      }
      root.setAttrs(parts, this.attrs(f, chown));
      this.used = true;
      return true;
    } finally {
      fs().closeSync(f.fd);
    }
  }
}
