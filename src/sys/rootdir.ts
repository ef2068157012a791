// Kernel-enforced confinement for writing an untrusted archive: every path is resolved with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) against one fd of the target directory, so
// `..`, absolute symlinks and symlinked parents all stay inside it. Entries are then created with
// *at calls on the parent fd using a single path component, which never follows a symlink.
import { check, cstr, libc, SyscallError, errno, ptr } from "./libc";
import { makedev } from "./devnum";
import { tryOpenInRoot } from "./openat2";
import { O } from "./arch";
import { closeFd, writeFully } from "./files";

const { RDONLY: O_RDONLY, WRONLY: O_WRONLY, CREAT: O_CREAT, EXCL: O_EXCL, CLOEXEC: O_CLOEXEC, PATH: O_PATH, DIRECTORY: O_DIRECTORY, NOFOLLOW: O_NOFOLLOW } = O;
const AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_SYMLINK_FOLLOW = 0x400, AT_EMPTY_PATH = 0x1000;
const UTIME_OMIT = (1n << 30n) - 2n;
const S_IFIFO = 0o010000, S_IFCHR = 0o020000, S_IFBLK = 0o060000;
const ENOENT = 2, EACCES = 13, ENOTDIR = 20, EEXIST = 17, EISDIR = 21, ELOOP = 40;
const EMPTY = cstr("");

export type NodeKind = "fifo" | "char" | "block";

/** Write all of `data` to `fd` (a write may be short). */
export function writeAll(fd: number, data: Uint8Array): void {
  writeFully(fd, data);
}

/** A directory that untrusted relative paths ("a/b/c", already split on "/") are confined to. */
export class RootDir {
  readonly fd: number;
  /**
   * The parent directory the last entry was made in, kept open for the next (an archive lists
   * a directory's entries together): one openat2 per directory instead of two per entry.
   */
  private parent?: { key: string; fd: number };
  /** An entry was removed (replaced): the kept parent may be a directory that is gone. */
  private removed = false;

  constructor(readonly path: string) {
    this.fd = check("open", libc.openat(AT_FDCWD, ptr(cstr(path)), O_PATH | O_DIRECTORY | O_CLOEXEC, 0n), path);
  }

  close(): void {
    this.forgetParent();
    libc.close(this.fd);
  }

  /** Drop the kept parent directory: whoever removes entries of the root other than through it calls this. */
  forgetParent(): void {
    if (this.parent) libc.close(this.parent.fd);
    this.parent = undefined;
  }

  /** openat2 inside the root; returns -errno instead of throwing so callers can react to ENOENT. */
  private tryOpen(rel: string, flags: number): number {
    return tryOpenInRoot(this.fd, rel, flags | O_CLOEXEC);
  }

  /**
   * An O_PATH fd of directory `parts`, creating missing directories (mode 0755) on the way. A dangling
   * symlink on the way (`lib -> usr/lib` before usr/lib exists) is followed inside the root and its
   * target created, as the kernel would resolve it.
   */
  openDir(parts: string[], hops = 0): number {
    const rel = parts.join("/");
    const fd = this.tryOpen(rel, O_PATH | O_DIRECTORY);
    if (fd >= 0) return fd;
    if (fd !== -ENOENT || parts.length === 0) throw new SyscallError("openat2", -fd, rel);
    const parent = this.openDir(parts.slice(0, -1), hops);
    try {
      const base = cstr(parts.at(-1)!);
      if (libc.mkdirat(parent, ptr(base), 0o755n) < 0) {
        if (errno() !== EEXIST) throw new SyscallError("mkdirat", errno(), rel);
        const link = this.readlink(parent, base);
        if (link === undefined) throw new SyscallError("openat2", ENOTDIR, rel);
        if (++hops > 40) throw new SyscallError("openat2", ELOOP, rel);
        const next = (link.startsWith("/") ? [] : parts.slice(0, -1)).concat(link.split("/").filter((p) => p && p !== "."));
        return this.openDir(next, hops);
      }
    } finally {
      libc.close(parent);
    }
    return this.openDir(parts, hops);
  }

  private readlink(dirfd: number, base: Uint8Array): string | undefined {
    const buf = new Uint8Array(4096);
    const n = Number(libc.readlinkat(dirfd, ptr(base), ptr(buf), BigInt(buf.length)));
    return n < 0 ? undefined : new TextDecoder().decode(buf.subarray(0, n));
  }

  /** Run `fn` with the parent dir fd (kept for the next entry) and the last component of `parts`. */
  private at<T>(parts: string[], fn: (dirfd: number, base: Uint8Array, name: string) => T): T {
    const name = parts.join("/"), last = parts[parts.length - 1] ?? "";
    const key = name.length > last.length ? name.slice(0, name.length - last.length - 1) : "";
    if (this.parent?.key !== key) {
      const fd = this.openDir(parts.slice(0, -1));
      this.forgetParent();
      this.parent = { key, fd };
    }
    try {
      return fn(this.parent.fd, cstr(last), name);
    } finally {
      if (this.removed) {
        this.removed = false;
        this.forgetParent();
      }
    }
  }

  /** Remove whatever non-directory (or empty directory) sits at `base` so it can be replaced. */
  private replace(dirfd: number, base: Uint8Array, name: string, create: () => number, call: string): void {
    if (create() >= 0) return;
    if (errno() !== EEXIST) throw new SyscallError(call, errno(), name);
    this.removed = true;
    if (libc.unlinkat(dirfd, ptr(base), 0) < 0) {
      if (errno() !== EISDIR) throw new SyscallError("unlinkat", errno(), name);
      check("rmdir", libc.unlinkat(dirfd, ptr(base), AT_REMOVEDIR), name);
    }
    check(call, create(), name);
  }

  /** mkdir, keeping an existing real directory (not a symlink to one). */
  mkdir(parts: string[], mode: number): void {
    this.at(parts, (dirfd, base, name) => {
      if (libc.mkdirat(dirfd, ptr(base), mode) === 0) return;
      if (errno() !== EEXIST) throw new SyscallError("mkdirat", errno(), name);
      const fd = libc.openat(dirfd, ptr(base), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0n);
      if (fd >= 0) return void libc.close(fd);
      this.replace(dirfd, base, name, () => libc.mkdirat(dirfd, ptr(base), BigInt(mode)), "mkdirat");
    });
  }

  /** Create a regular file (replacing what was there) and write `chunks` into it. */
  writeFile(parts: string[], chunks: Uint8Array[]): void {
    const fd = this.createFile(parts);
    try {
      for (const c of chunks) writeAll(fd, c);
    } finally {
      closeFd(fd);
    }
  }

  /** Create a regular file (replacing what was there), mode 0600, open for writing: the caller closes the fd. */
  createFile(parts: string[]): number {
    return this.at(parts, (dirfd, base, name) => {
      let fd = -1;
      const create = () => (fd = libc.openat(dirfd, ptr(base), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600));
      this.replace(dirfd, base, name, create, "openat");
      return fd;
    });
  }

  symlink(parts: string[], target: string): void {
    const t = cstr(target);
    this.at(parts, (dirfd, base, name) => this.replace(dirfd, base, name, () => libc.symlinkat(ptr(t), dirfd, ptr(base)), "symlinkat"));
  }

  /** Hard link to `targetParts`, itself resolved inside the root (never following its last symlink). */
  link(parts: string[], targetParts: string[]): void {
    const rel = targetParts.join("/");
    const tfd = this.tryOpen(rel, O_PATH | O_NOFOLLOW);
    if (tfd < 0) throw new SyscallError("openat2", -tfd, rel);
    // linkat through the fd's /proc entry works without CAP_DAC_READ_SEARCH (unlike AT_EMPTY_PATH)
    const src = cstr(`/proc/self/fd/${tfd}`);
    try {
      this.at(parts, (dirfd, base, name) =>
        this.replace(dirfd, base, name, () => libc.linkat(AT_FDCWD, ptr(src), dirfd, ptr(base), AT_SYMLINK_FOLLOW), "linkat"));
    } finally {
      libc.close(tfd);
    }
  }

  mknod(parts: string[], kind: NodeKind, mode: number, major = 0, minor = 0): void {
    const type = { fifo: S_IFIFO, char: S_IFCHR, block: S_IFBLK }[kind];
    const dev = kind === "fifo" ? 0n : makedev(major, minor);
    this.at(parts, (dirfd, base, name) =>
      this.replace(dirfd, base, name, () => libc.mknodat(dirfd, ptr(base), BigInt(type | (mode & 0o777)), dev), "mknodat"));
  }

  /** Owner, then mode (chown clears setuid/setgid), then mtime, then xattrs; never follows a last symlink. */
  setAttrs(parts: string[], a: Attrs): boolean {
    if (a.isDir) return this.setDirAttrs(parts, a);
    return this.at(parts, (dirfd, base, name) => {
      if (a.uid !== undefined) check("fchownat", libc.fchownat(dirfd, ptr(base), a.uid, a.gid!, AT_SYMLINK_NOFOLLOW), name);
      if (!a.isSymlink) check("fchmodat", libc.fchmodat(dirfd, ptr(base), a.mode, 0), name);
      check("utimensat", libc.utimensat(dirfd, ptr(base), ptr(times(a.mtime)), AT_SYMLINK_NOFOLLOW), name);
      if (a.xattrs) {
        const path = `/proc/self/fd/${dirfd}/${parts.at(-1)}`; // lsetxattr: the last component is not followed
        for (const [k, v] of a.xattrs) check("lsetxattr", libc.lsetxattr(ptr(cstr(path)), ptr(cstr(k)), ptr(v), BigInt(v.length), 0), name);
      }
      return true;
    });
  }

  /**
   * setAttrs for a file createFile made, by its fd (before the caller closes it): nothing is
   * looked up by name again.
   */
  setFileAttrs(fd: number, name: string, a: Attrs): void {
    if (a.uid !== undefined) check("fchownat", libc.fchownat(fd, ptr(EMPTY), a.uid, a.gid!, AT_EMPTY_PATH), name);
    check("fchmod", libc.fchmod(fd, a.mode), name);
    check("futimens", libc.futimens(fd, ptr(times(a.mtime))), name);
    for (const [k, v] of a.xattrs ?? []) check("fsetxattr", libc.fsetxattr(fd, ptr(cstr(k)), ptr(v), BigInt(v.length), 0), name);
  }

  /**
   * A directory may have been replaced by a later entry: use an O_NOFOLLOW fd, false when gone.
   * Opened for reading, its attributes are set through the fd; where it cannot be read (a user
   * unpacking into a directory without read permission), through its O_PATH fd's /proc entry.
   */
  private setDirAttrs(parts: string[], a: Attrs): boolean {
    const rel = parts.join("/");
    let fd = this.tryOpen(rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd === -EACCES) fd = this.tryOpen(rel, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    else if (fd >= 0) {
      try {
        this.setFileAttrs(fd, rel, a);
        return true;
      } finally {
        libc.close(fd);
      }
    }
    if (fd === -ENOTDIR || fd === -ELOOP || fd === -ENOENT) return false;
    if (fd < 0) throw new SyscallError("openat2", -fd, rel);
    const proc = cstr(`/proc/self/fd/${fd}`), procDot = cstr(`/proc/self/fd/${fd}/.`);
    try {
      if (a.uid !== undefined) check("fchownat", libc.fchownat(fd, ptr(EMPTY), a.uid, a.gid!, AT_EMPTY_PATH), rel);
      check("chmod", libc.fchmodat(AT_FDCWD, ptr(proc), BigInt(a.mode), 0), rel);
      for (const [k, v] of a.xattrs ?? []) check("setxattr", libc.lsetxattr(ptr(procDot), ptr(cstr(k)), ptr(v), BigInt(v.length), 0), rel);
      check("utimensat", libc.utimensat(AT_FDCWD, ptr(proc), ptr(times(a.mtime)), 0), rel);
      return true;
    } finally {
      libc.close(fd);
    }
  }
}

export interface Attrs {
  mode: number;
  mtime: { sec: number; nsec: number };
  uid?: number;
  gid?: number;
  isDir?: boolean;
  isSymlink?: boolean;
  xattrs?: [string, Uint8Array][];
}

// utimensat's two timespecs (atime left as it is), reused: every call is synchronous.
const TIMES = new BigInt64Array([0n, UTIME_OMIT, 0n, 0n]);

function times(m: { sec: number; nsec: number }): BigInt64Array {
  TIMES[2] = BigInt(m.sec);
  TIMES[3] = BigInt(m.nsec);
  return TIMES;
}
