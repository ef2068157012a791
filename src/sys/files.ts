// Files by path and fd through libc's calls, not node:fs: loading node:fs costs a command
// ~0.9 ms of start-up and ~3.5 MiB of RSS, and node:path ~0.35 ms more (README, Performance),
// while the FFI a command loads anyway costs ~0.4 ms. What `state`, `start`, `delete`,
// `kill` and `bundle` do on their common path (state.json, /proc/<pid>/stat, the exec fifo,
// a lock, empty cgroups, a tarball read and a bundle written) is here.
import { O } from "./arch";
import { check, checkedSyscall, checkExpecting, cstr, errno, libc, SyscallError, ptr } from "./libc";

const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const F_OK = 0;
const ENOENT = 2;
const EINTR = 4;
const EAGAIN = 11;
const EEXIST = 17;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** open(2) with exactly `flags` (O.CLOEXEC when the fd must not reach a child); throws a SyscallError (code ENOENT, ...) naming the path. */
export function openPath(path: string, flags: number, mode = 0): number {
  const name = cstr(path);
  return check("open", libc.open(ptr(name), flags, BigInt(mode)), path);
}

export function closeFd(fd: number): void {
  libc.close(fd);
}

/** read(2) into `buf` (retried on EINTR): the byte count, 0 at EOF; EAGAIN and the rest throw. */
export function readFd(fd: number, buf: Uint8Array, path?: string): number {
  for (;;) {
    const n = Number(libc.read(fd, ptr(buf), BigInt(buf.length)));
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("read", e, path);
  }
}

/**
 * All of `data` to `fd`, as the CLI prints: a full non-blocking pipe is waited for, and a
 * closed one (EPIPE, EBADF) ends the write quietly (nothing more can be said there).
 */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) {
    const n = Number(libc.write(fd, ptr(data, off), BigInt(data.length - off)));
    if (n >= 0) {
      off += n;
      continue;
    }
    const e = errno();
    if (e === EAGAIN) Bun.sleepSync(1);
    else if (e !== EINTR) return;
  }
}

/** The whole file as UTF-8: a path, or an open fd (read from where it is, left open), as readFileSync takes. */
export function readText(file: string | number): string {
  return decoder.decode(readBytes(file));
}

/**
 * The file as UTF-8, or undefined when opening it fails with one of `expected` (a process that
 * is gone, a file that is not there): no error object is built for what is normal.
 */
export function readTextIf(path: string, ...expected: number[]): string | undefined {
  const name = cstr(path);
  const fd = libc.open(ptr(name), O.RDONLY | O.CLOEXEC, 0n);
  if (checkExpecting("open", fd, path, ...expected)) return undefined;
  try {
    return decoder.decode(readAll(fd, path));
  } finally {
    closeFd(fd);
  }
}

/** The whole file's bytes: a path, or an open fd (left open). */
export function readBytes(file: string | number): Uint8Array {
  if (typeof file === "number") return readAll(file, `fd ${file}`);
  const fd = openPath(file, O.RDONLY | O.CLOEXEC);
  try {
    return readAll(fd, file);
  } finally {
    closeFd(fd);
  }
}

function readAll(fd: number, label: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (let size = 16384; ; size = Math.min(size * 2, 1 << 20)) {
    const buf = new Uint8Array(size);
    const n = readFd(fd, buf, label);
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
  }
  if (chunks.length === 1) return chunks[0]!;
  // Not Buffer.concat: Buffer's first use costs a command ~0.1 ms.
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) { all.set(c, off); off += c.length; }
  return all;
}

/** existsSync's answer (symlinks followed, any error is "no"), by faccessat: a fifo is not opened. */
export function pathExists(path: string): boolean {
  const name = cstr(path);
  return libc.faccessat(AT_FDCWD, ptr(name), F_OK, 0) === 0;
}

/** Reads at `offset` (pread) until `buf` is full or EOF: the byte count. */
export function preadFull(fd: number, buf: Uint8Array, offset: number, path?: string): number {
  let got = 0;
  while (got < buf.length) {
    const n = Number(libc.pread(fd, ptr(buf, got), BigInt(buf.length - got), BigInt(offset + got)));
    if (n === 0) break;
    if (n < 0) {
      const e = errno();
      if (e === EINTR) continue;
      throw new SyscallError("pread", e, path);
    }
    got += n;
  }
  return got;
}

const SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;
/** The size of the file behind `fd` (0 for a pipe), its offset left where it was. */
export function fileSize(fd: number): number {
  const here = libc.lseek(fd, 0n, SEEK_CUR);
  if (here < 0n) return 0;
  const end = libc.lseek(fd, 0n, SEEK_END);
  libc.lseek(fd, here, SEEK_SET);
  return Number(end);
}

/** All of `data` to `fd`; a failed write throws (a file being written, not the CLI's output). */
export function writeFully(fd: number, data: Uint8Array | string, path?: string): void {
  if (typeof data === "string") data = encoder.encode(data);
  for (let off = 0; off < data.length; ) {
    const n = Number(libc.write(fd, ptr(data, off), BigInt(data.length - off)));
    if (n >= 0) off += n;
    else if (errno() !== EINTR) throw new SyscallError("write", errno(), path);
  }
}

/** A new file (or one truncated) holding `text`, as writeFileSync; `flags` O.WRONLY alone for procfs and cgroup files. */
export function writeText(path: string, text: string | Uint8Array, mode = 0o666, flags = O.WRONLY | O.CREAT | O.TRUNC): void {
  const fd = openPath(path, flags | O.CLOEXEC, mode);
  try {
    writeFully(fd, text, path);
  } finally {
    closeFd(fd);
  }
}

/** What bunc asks of a stat: the fields of node's Stats it uses, from statx(2). */
export interface FileStat {
  mode: number; uid: number; gid: number; size: number; ino: bigint; dev: bigint; rdev: bigint;
  isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean;
}
const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;
const AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100, STATX_BASIC_STATS = 0x7ff;

const ENOTDIR = 20;

/** statx's fields as a FileStat: one object with its methods on the prototype (create stats ~100 paths). */
class Stat implements FileStat {
  readonly mode: number; readonly uid: number; readonly gid: number; readonly size: number;
  readonly ino: bigint; readonly dev: bigint; readonly rdev: bigint;
  constructor(v: DataView) {
    const makedev = (ma: number, mi: number) => (BigInt(ma) << 8n) | BigInt(mi); // compared, never decoded
    this.mode = v.getUint16(28, true);
    this.uid = v.getUint32(20, true);
    this.gid = v.getUint32(24, true);
    this.size = Number(v.getBigUint64(40, true));
    this.ino = v.getBigUint64(32, true);
    this.rdev = makedev(v.getUint32(128, true), v.getUint32(132, true));
    this.dev = makedev(v.getUint32(136, true), v.getUint32(140, true));
  }
  isDirectory() { return (this.mode & S_IFMT) === S_IFDIR; }
  isFile() { return (this.mode & S_IFMT) === S_IFREG; }
  isSymbolicLink() { return (this.mode & S_IFMT) === S_IFLNK; }
  isCharacterDevice() { return (this.mode & S_IFMT) === S_IFCHR; }
  isBlockDevice() { return (this.mode & S_IFMT) === S_IFBLK; }
  isFIFO() { return (this.mode & S_IFMT) === S_IFIFO; }
}

/** statx(2); with `missingOk`, undefined for ENOENT/ENOTDIR without building an error (~10 µs each, and create asks of many absent paths). */
function statx(dirFd: number, path: string, flags: number, label: string, missingOk = false): FileStat | undefined {
  const name = cstr(path);
  const buf = new Uint8Array(256);
  // libc's statx, not the generic syscall(): it is called for every path component a mount resolves.
  const rc = libc.statx(dirFd, ptr(name), flags, STATX_BASIC_STATS, ptr(buf));
  if (missingOk ? checkExpecting("statx", rc, label, ENOENT, ENOTDIR) : check("statx", rc, label) < 0) return undefined;
  return new Stat(new DataView(buf.buffer));
}

/** stat (or lstat with follow: false); undefined when nothing is there and `missingOk`. */
export function statPath(path: string, opts: { follow?: boolean; missingOk?: boolean } = {}): FileStat | undefined {
  return statx(AT_FDCWD, path, opts.follow === false ? AT_SYMLINK_NOFOLLOW : 0, path, opts.missingOk);
}

const PROC_SUPER_MAGIC = 0x9fa0n;

/** Whether `path` (symlinks followed) is on a proc filesystem: statfs(2)'s f_type, the first field. */
export function isOnProcfs(path: string): boolean {
  const buf = new BigInt64Array(16); // struct statfs is 120 bytes on x86_64 and aarch64
  check("statfs", libc.statfs(ptr(cstr(path)), ptr(buf)), path);
  return buf[0] === PROC_SUPER_MAGIC;
}

/** lstat of `name` below the directory `dirFd` (no symlink followed at the name); undefined when nothing is there. */
export function statAtIfExists(dirFd: number, name: string, label = name): FileStat | undefined {
  return statx(dirFd, name, AT_SYMLINK_NOFOLLOW, label, true);
}

export function statFd(fd: number): FileStat {
  return statx(fd, "", AT_EMPTY_PATH, `fd ${fd}`)!;
}

export function readLink(path: string): string {
  const name = cstr(path);
  const buf = new Uint8Array(4096);
  const n = Number(check("readlink", libc.readlinkat(AT_FDCWD, ptr(name), ptr(buf), BigInt(buf.length)), path));
  return decoder.decode(buf.subarray(0, n));
}

export function makeSymlink(target: string, path: string): void {
  const t = cstr(target), p = cstr(path);
  check("symlink", libc.symlinkat(ptr(t), AT_FDCWD, ptr(p)), path);
}

export function changeMode(path: string, mode: number): void {
  const name = cstr(path);
  check("chmod", libc.fchmodat(AT_FDCWD, ptr(name), BigInt(mode), 0), path);
}

/** chown (symlinks followed); -1 leaves an id as it is. */
export function changeOwner(path: string, uid: number, gid: number): void {
  const name = cstr(path);
  check("chown", libc.fchownat(AT_FDCWD, ptr(name), BigInt.asUintN(32, BigInt(uid)), BigInt.asUintN(32, BigInt(gid)), 0), path);
}

export function changeOwnerFd(fd: number, uid: number, gid: number): void {
  const empty = cstr("");
  check("fchown", libc.fchownat(fd, ptr(empty), BigInt.asUintN(32, BigInt(uid)), BigInt.asUintN(32, BigInt(gid)), AT_EMPTY_PATH));
}

/** access(2): whether this process may `mode` (X_OK 1, W_OK 2, R_OK 4) the path. */
export function accessible(path: string, mode: number): boolean {
  const name = cstr(path);
  return libc.faccessat(AT_FDCWD, ptr(name), mode, 0) === 0;
}

/** mkdir(2); with `existsOk`, false when something is there already (no error built). */
export function makeDirectory(path: string, mode = 0o777, existsOk = false): boolean {
  const name = cstr(path);
  const rc = libc.mkdirat(AT_FDCWD, ptr(name), BigInt(mode));
  return existsOk ? checkExpecting("mkdir", rc, path, EEXIST) === 0 : check("mkdir", rc, path) >= 0;
}

/** ftruncate to 0, then `data` at offset 0 (a request rewritten in place). */
export function rewriteFd(fd: number, data: Uint8Array): void {
  check("ftruncate", libc.ftruncate(fd, 0n));
  for (let off = 0; off < data.length; ) {
    const n = Number(libc.pwrite(fd, ptr(data, off), BigInt(data.length - off), BigInt(off)));
    if (n >= 0) off += n;
    else if (errno() !== EINTR) throw new SyscallError("pwrite", errno());
  }
}

export function renamePath(from: string, to: string): void {
  const a = cstr(from), b = cstr(to);
  check("rename", libc.renameat(AT_FDCWD, ptr(a), AT_FDCWD, ptr(b)), to);
}

/** Whether `path` is a directory (symlinks followed). */
export function isDirectory(path: string): boolean {
  let fd: number;
  try {
    fd = openPath(path, O.PATH | O.DIRECTORY | O.CLOEXEC);
  } catch {
    return false;
  }
  closeFd(fd);
  return true;
}

/** mkdir -p: `path` and its missing parents; an existing directory is fine. */
export function makeDirectories(path: string, mode = 0o777): void {
  const name = cstr(path);
  if (libc.mkdirat(AT_FDCWD, ptr(name), BigInt(mode)) === 0) return;
  const e = errno();
  if (e === EEXIST && isDirectory(path)) return;
  if (e === ENOENT) {
    const parent = path.replace(/\/+[^/]+\/*$/, "");
    if (parent && parent !== path) {
      makeDirectories(parent, mode);
      return makeDirectories(path, mode);
    }
  }
  throw new SyscallError("mkdir", e, path);
}

/** The names in a directory (without . and ..), by getdents64. */
export function readDirectory(path: string): string[] {
  return directoryEntries(path, false);
}

/** The names of the directories in a directory: getdents64's type, statx where a filesystem gives none. */
export function readSubdirectories(path: string): string[] {
  return directoryEntries(path, true);
}

const DT_UNKNOWN = 0, DT_DIR = 4;

function directoryEntries(path: string, directoriesOnly: boolean): string[] {
  const fd = openPath(path, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  try {
    const wanted = (name: string, type: number) => !directoriesOnly || type === DT_DIR || (type === DT_UNKNOWN && !!statPath(`${path}/${name}`, { follow: false, missingOk: true })?.isDirectory());
    return entriesOfFd(fd, path, wanted);
  } finally {
    closeFd(fd);
  }
}

/** The names in the directory open as `fd` (without . and ..) that `wanted` takes, by getdents64 (`type`: its d_type). */
export function entriesOfFd(fd: number, label: string, wanted: (name: string, type: number) => boolean = () => true): string[] {
  const names: string[] = [];
  const buf = new Uint8Array(32768);
  const view = new DataView(buf.buffer);
  for (;;) {
    const n = Number(checkedSyscall("getdents64", [fd, ptr(buf), buf.length], label));
    if (n === 0) return names;
    // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[] (NUL-terminated)
    for (let off = 0; off < n; ) {
      const reclen = view.getUint16(off + 16, true);
      const start = off + 19;
      const name = decoder.decode(buf.subarray(start, buf.indexOf(0, start)));
      if (name !== "." && name !== ".." && wanted(name, buf[off + 18]!)) names.push(name);
      off += reclen;
    }
  }
}

export function unlinkPath(path: string): void {
  const name = cstr(path);
  check("unlink", libc.unlinkat(AT_FDCWD, ptr(name), 0), path);
}

/**
 * unlink, or rmdir with `directory`, that returns `expected` errnos (0 on success) instead of
 * throwing: no error object is built for what is normal (a file that may not be there, a
 * parent cgroup other containers still use), which keeps a short command's heap small.
 */
export function tryRemove(path: string, directory: boolean, ...expected: number[]): number {
  const name = cstr(path);
  return checkExpecting(directory ? "rmdir" : "unlink", libc.unlinkat(AT_FDCWD, ptr(name), directory ? AT_REMOVEDIR : 0), path, ...expected);
}

/** rmdir(2): an empty directory (or cgroup) only. */
export function removeDirectory(path: string): void {
  const name = cstr(path);
  check("rmdir", libc.unlinkat(AT_FDCWD, ptr(name), AT_REMOVEDIR), path);
}
