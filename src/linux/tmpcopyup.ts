// tmpcopyup (a mount option of podman's, crun's and runc's): a tmpfs mounted over a directory
// starts with a copy of what the directory held, each entry with its owner, mode and times,
// symlinks as links, fifos and device nodes as nodes. The directory is read through an fd
// opened before the tmpfs covered it, one name at a time (openat O_NOFOLLOW): nothing in the
// container's tree can lead the copy out of it.
import { check, cstr, libc, ptr } from "../sys/libc";
import { O } from "../sys/arch";
import { closeFd, entriesOfFd, readBytes } from "../sys/files";
import { readlinkFd } from "../sys/xattr";
import { RootDir, type NodeKind } from "../sys/rootdir";

const AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000, STATX_BASIC_STATS = 0x7ff;
const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000;
const NODES: Record<number, NodeKind> = { 0o010000: "fifo", 0o020000: "char", 0o060000: "block" };

interface Entry { mode: number; uid: number; gid: number; mtime: { sec: number; nsec: number }; major: number; minor: number }

/** lstat of `name` in the directory `dirFd` ("": the directory itself). */
function lstatAt(dirFd: number, name: string): Entry {
  const buf = new Uint8Array(256);
  check("statx", libc.statx(dirFd, ptr(cstr(name)), name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH, STATX_BASIC_STATS, ptr(buf)), name);
  const v = new DataView(buf.buffer);
  return {
    mode: v.getUint16(28, true), uid: v.getUint32(20, true), gid: v.getUint32(24, true),
    mtime: { sec: Number(v.getBigInt64(112, true)), nsec: v.getUint32(120, true) },
    major: v.getUint32(128, true), minor: v.getUint32(132, true),
  };
}

function openAt(dirFd: number, name: string, flags: number): number {
  return check("openat", libc.openat(dirFd, ptr(cstr(name)), flags | O.NOFOLLOW | O.CLOEXEC, 0n), name);
}

function copyEntries(fromFd: number, to: RootDir, parts: string[], label: string): void {
  for (const name of entriesOfFd(fromFd, label)) {
    const e = lstatAt(fromFd, name);
    const at = [...parts, name];
    const type = e.mode & S_IFMT;
    if (type === S_IFDIR) {
      to.mkdir(at, 0o700);
      const sub = openAt(fromFd, name, O.RDONLY | O.DIRECTORY);
      try {
        copyEntries(sub, to, at, `${label}/${name}`);
      } finally {
        closeFd(sub);
      }
    } else if (type === S_IFREG) {
      const f = openAt(fromFd, name, O.RDONLY);
      try {
        to.writeFile(at, [readBytes(f)]);
      } finally {
        closeFd(f);
      }
    } else if (type === S_IFLNK) {
      const l = openAt(fromFd, name, O.PATH);
      try {
        to.symlink(at, readlinkFd(l) ?? "");
      } finally {
        closeFd(l);
      }
    } else if (NODES[type]) {
      to.mknod(at, NODES[type]!, e.mode & 0o7777, e.major, e.minor);
    } else {
      continue; // a socket: nothing a copy could bring to life
    }
    // Owner before mode (chown clears set-id bits), times last: a directory's after its entries.
    to.setAttrs(at, { mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: e.mtime, isDir: type === S_IFDIR, isSymlink: type === S_IFLNK });
  }
}

/** Copies what the directory open as `fromFd` holds into the directory at `to` (the new tmpfs's root). */
export function copyUp(fromFd: number, to: string, label: string): void {
  const root = new RootDir(to);
  try {
    copyEntries(fromFd, root, [], label);
    // The root keeps its mode (the mountpoint's, or mode=) and takes the directory's owner.
    const own = lstatAt(fromFd, "");
    check("fchownat", libc.fchownat(root.fd, ptr(cstr("")), own.uid, own.gid, AT_EMPTY_PATH), label);
  } finally {
    root.close();
  }
}
