// The Syscalls interface: what container setup asks of the kernel. LinuxSyscalls
// calls libc; RecordingSyscalls (test/support) records calls so mount, hostname,
// namespace, process, capability and terminal logic is unit-tested without root.
import { check, checkedSyscall, cptr, cstr, cstrArray, errno, libc, syscall, SyscallError, ptr, type Pointer } from "./libc";
import { O, SYS } from "./arch";
import { moveMount, mountSetattr, openTreeOfFd } from "./mount-api";
import { openInRoot, tryOpenInRoot } from "./openat2";
import { changeOwnerFd, statFd } from "./files";

/** SIGPIPE and SIGXFSZ: ignored by the Bun runtime in its own process. */
const BUN_IGNORED = [13, 25];

const ENOENT = 2;

export { RESOLVE } from "./openat2";

/** prctl(2) options bunc uses, by name (errors name the option). */
export const PR = {
  SET_PDEATHSIG: 1, SET_DUMPABLE: 4, SET_KEEPCAPS: 8, CAPBSET_DROP: 24, SET_CHILD_SUBREAPER: 36, SET_NO_NEW_PRIVS: 38,
  CAP_AMBIENT: 47,
} as const;
export const PR_CAP_AMBIENT_RAISE = 2, PR_CAP_AMBIENT_CLEAR_ALL = 4;
const PR_NAMES = new Map<number, string>(Object.entries(PR).map(([k, v]) => [v, `PR_${k}`]));

/** The capability sets capset(2) takes (bounding and ambient are prctl's). */
export interface CapsetSets { effective: bigint; permitted: bigint; inheritable: bigint }

export interface Syscalls {
  mount(source: string | null, target: string, fstype: string | null, flags: bigint, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chdir(path: string): void;
  fchdir(fd: number): void;
  chroot(path: string): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  /** mknodat(2): the node `name` below the directory `dirFd`; errors carry `context`. */
  mknodat(dirFd: number, name: string, mode: number, dev: bigint, context?: string): void;
  /** prctl(option, ...args); `context` names what it was for in an error (e.g. the capability). */
  prctl(option: number, args?: readonly (number | bigint)[], context?: string): number;
  umask(mask: number): number;
  kill(pid: number, signal: number): void;
  /** An fd (O_PATH unless `flags` say) of `relative` resolved by the kernel inside the directory `rootFd` (openat2 RESOLVE_IN_ROOT). */
  openInRoot(rootFd: number, relative: string, flags?: number, resolve?: bigint): number;
  /** openInRoot, or undefined when nothing is there (ENOENT) without building an error. */
  openInRootIfExists(rootFd: number, relative: string, flags?: number): number | undefined;
  /** open(2) of a path of this process's view (e.g. /dev/ptmx); the error names `path`. */
  open(path: string, flags: number): number;
  /** openat(2) of one name below `dirFd`; errors carry `context` (default: the name). */
  openat(dirFd: number, name: string, flags: number, mode: number, context?: string): number;
  mkdirat(dirFd: number, name: string, mode: number, context?: string): void;
  /** symlinkat(2): a symlink `name` below `dirFd` with the text `target`; errors carry `context`. */
  symlinkat(target: string, dirFd: number, name: string, context?: string): void;
  close(fd: number): void;
  /** write(2) of `data` whole in one call (an LSM attribute takes one write); errors carry `context`. */
  write(fd: number, data: string, context?: string): void;
  /** fsetxattr(2): the extended attribute `name` of the file open as `fd` (e.g. security.selinux). */
  fsetxattr(fd: number, name: string, value: string, context?: string): void;
  dup2(oldFd: number, newFd: number): void;
  fcntl(fd: number, cmd: number, arg: number): number;
  /** close_range(2) of first..last with `flags` (CLOSE_RANGE_CLOEXEC: 4). */
  closeRange(first: number, last: number, flags: number): void;
  /** Mount flags (MS_*) of the mount at `path`, for remounts that must keep locked flags. */
  mountFlags(path: string): bigint;
  /** The permission bits of the file open as `fd` (st_mode & 07777: set-id and sticky bits too). */
  fileMode(fd: number): number;
  /** mount_setattr(2) on `path` and every mount below it (AT_RECURSIVE): MOUNT_ATTR_* to set and clear. */
  mountSetattrRecursive(path: string, set: bigint, clear: bigint): void;
  /** move_mount(2) of the detached tree `fromFd` onto the mount point fd `toFd`, or onto `toPath` when toFd is -1. */
  moveMount(fromFd: number, toFd: number, toPath: string): void;
  /** open_tree(2) of the file open as `fd` (OPEN_TREE_CLONE): a detached bind of it, for moveMount; errors name `context`. */
  openTreeOf(fd: number, context: string): number;
  /** prlimit(2) of `resource` (RLIMIT_* number) on `pid` (0: this process). */
  prlimit(pid: number, resource: number, soft: bigint, hard: bigint, context?: string): void;
  setgroups(gids: readonly number[], context?: string): void;
  setresgid(gid: number): void;
  setresuid(uid: number): void;
  /** fstat(2): owner, type and mode, device number of what `fd` is open on. */
  fstat(fd: number): { uid: number; mode: number; rdev: bigint };
  /** fchown(2); -1 leaves an id as it is. */
  fchown(fd: number, uid: number, gid: number): void;
  /** capset(2) v3 on the calling thread. */
  capset(sets: CapsetSets): void;
  /** A new session (fails with EPERM for a session leader already). */
  setsid(): void;
  /** TIOCSPTLCK 0: the pty slave of `master` may be opened. */
  ptyUnlock(master: number): void;
  /** TIOCGPTN: the number N of /dev/pts/N of `master`. */
  ptyNumber(master: number): number;
  /** TIOCGPTPEER: the slave of `master`, opened through the master's own devpts (no path). */
  ptyPeer(master: number, flags: number): number;
  /** TIOCSWINSZ. */
  setWindowSize(fd: number, rows: number, cols: number): void;
  /** TCGETS/TCSETS: the terminal of `fd` stops turning "\n" into "\r\n" (ONLCR off). */
  clearOnlcr(fd: number): void;
  /** TIOCSCTTY: `fd` becomes the calling session's controlling terminal. */
  setControllingTerminal(fd: number): void;
  /** execve(2); returns only by throwing its SyscallError. */
  execve(path: string, argv: string[], envp: string[]): never;
}

const TIOCGPTN = 0x80045430n, TIOCSPTLCK = 0x40045431n, TIOCSWINSZ = 0x5414n, TIOCSCTTY = 0x540en, TIOCGPTPEER = 0x5441n;
const TCGETS = 0x5401n, TCSETS = 0x5402n, ONLCR = 0o4;
const AT_FDCWD = -100;

export class LinuxSyscalls implements Syscalls {
  mountSetattrRecursive(path: string, set: bigint, clear: bigint): void {
    mountSetattr(AT_FDCWD, path, { set, clear }, { recursive: true });
  }
  moveMount(fromFd: number, toFd: number, toPath: string): void {
    moveMount(fromFd, toFd, toPath);
  }
  openTreeOf(fd: number, context: string): number {
    return openTreeOfFd(fd, context);
  }
  mount(source: string | null, target: string, fstype: string | null, flags: bigint, data: string | null): void {
    check("mount", libc.mount(cptr(source), cptr(target), cptr(fstype), flags, cptr(data)), target);
  }
  umount2(target: string, flags: number): void {
    check("umount2", libc.umount2(ptr(cstr(target)), flags), target);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    const a = cstr(newRoot), b = cstr(putOld);
    checkedSyscall("pivot_root", [ptr(a), ptr(b)], newRoot);
  }
  chdir(path: string): void {
    check("chdir", libc.chdir(ptr(cstr(path))), path);
  }
  fchdir(fd: number): void {
    check("fchdir", libc.fchdir(fd));
  }
  chroot(path: string): void {
    check("chroot", libc.chroot(ptr(cstr(path))), path);
  }
  sethostname(name: string): void {
    const b = cstr(name);
    check("sethostname", libc.sethostname(ptr(b), BigInt(b.length - 1)), name);
  }
  setdomainname(name: string): void {
    const b = cstr(name);
    check("setdomainname", libc.setdomainname(ptr(b), BigInt(b.length - 1)), name);
  }
  unshare(flags: number): void {
    check("unshare", libc.unshare(flags));
  }
  setns(fd: number, nstype: number): void {
    check("setns", libc.setns(fd, nstype));
  }
  mknodat(dirFd: number, name: string, mode: number, dev: bigint, context = name): void {
    check("mknod", libc.mknodat(dirFd, ptr(cstr(name)), BigInt(mode), dev), context);
  }
  prctl(option: number, args: readonly (number | bigint)[] = [], context?: string): number {
    const [a2 = 0, a3 = 0, a4 = 0, a5 = 0] = args;
    const name = `prctl(${PR_NAMES.get(option) ?? option})`;
    return check(name, libc.prctl(option, BigInt(a2), BigInt(a3), BigInt(a4), BigInt(a5)), context);
  }
  umask(mask: number): number {
    return Number(libc.umask(BigInt(mask)));
  }
  kill(pid: number, signal: number): void {
    check("kill", libc.kill(pid, signal), String(pid));
  }
  openInRoot(rootFd: number, relative: string, flags = O.PATH | O.CLOEXEC, resolve = 0n): number {
    return openInRoot(rootFd, relative, flags, resolve);
  }
  openInRootIfExists(rootFd: number, relative: string, flags = O.PATH | O.CLOEXEC): number | undefined {
    const fd = tryOpenInRoot(rootFd, relative, flags);
    if (fd === -ENOENT) return undefined;
    if (fd < 0) throw new SyscallError("openat2", -fd, relative);
    return fd;
  }
  open(path: string, flags: number): number {
    return check("open", libc.open(ptr(cstr(path)), flags, 0n), path);
  }
  openat(dirFd: number, name: string, flags: number, mode: number, context = name): number {
    return check("openat", libc.openat(dirFd, ptr(cstr(name)), flags, BigInt(mode)), context);
  }
  mkdirat(dirFd: number, name: string, mode: number, context = name): void {
    check("mkdirat", libc.mkdirat(dirFd, ptr(cstr(name)), BigInt(mode)), context);
  }
  symlinkat(target: string, dirFd: number, name: string, context = name): void {
    check("symlink", libc.symlinkat(ptr(cstr(target)), dirFd, ptr(cstr(name))), context);
  }
  close(fd: number): void {
    libc.close(fd);
  }
  write(fd: number, data: string, context?: string): void {
    const bytes = new TextEncoder().encode(data);
    const n = check("write", libc.write(fd, bytes.length ? ptr(bytes) : null, BigInt(bytes.length)), context);
    if (Number(n) !== bytes.length) throw new SyscallError("write", 5 /* EIO */, context);
  }
  fsetxattr(fd: number, name: string, value: string, context?: string): void {
    const bytes = new TextEncoder().encode(value);
    check("fsetxattr", libc.fsetxattr(fd, ptr(cstr(name)), ptr(bytes), BigInt(bytes.length), 0), context);
  }
  dup2(oldFd: number, newFd: number): void {
    check("dup2", libc.dup2(oldFd, newFd));
  }
  fcntl(fd: number, cmd: number, arg: number): number {
    return check("fcntl", libc.fcntl(fd, cmd, BigInt(arg)));
  }
  closeRange(first: number, last: number, flags: number): void {
    checkedSyscall("close_range", [first, last, flags]);
  }
  fileMode(fd: number): number {
    return statFd(fd).mode & 0o7777;
  }
  mountFlags(path: string): bigint {
    const buf = new BigUint64Array(14);
    check("statvfs", libc.statvfs(ptr(cstr(path)), ptr(buf)), path);
    const st = buf[9]!; // f_flag
    // ST_* match MS_* except ST_RELATIME (4096) and ST_NOSYMFOLLOW (8192).
    let ms = st & 0b1111_1111_1111n & ~4096n & ~8192n & ~32n;
    if (st & 4096n) ms |= 1n << 21n;
    if (st & 8192n) ms |= 256n;
    return ms & (1n | 2n | 4n | 8n | 1024n | 2048n | (1n << 21n) | 256n);
  }
  prlimit(pid: number, resource: number, soft: bigint, hard: bigint, context?: string): void {
    const buf = new BigUint64Array([soft, hard]);
    check("prlimit", libc.prlimit(pid, resource, ptr(buf), null), context);
  }
  setgroups(gids: readonly number[], context?: string): void {
    const list = new Uint32Array(gids);
    check("setgroups", libc.setgroups(BigInt(list.length), list.length ? ptr(list) : null), context);
  }
  setresgid(gid: number): void {
    check("setresgid", libc.setresgid(BigInt(gid), BigInt(gid), BigInt(gid)), `gid ${gid}`);
  }
  setresuid(uid: number): void {
    check("setresuid", libc.setresuid(BigInt(uid), BigInt(uid), BigInt(uid)), `uid ${uid}`);
  }
  fstat(fd: number): { uid: number; mode: number; rdev: bigint } {
    return statFd(fd);
  }
  fchown(fd: number, uid: number, gid: number): void {
    changeOwnerFd(fd, uid, gid);
  }
  capset(s: CapsetSets): void {
    const header = new Uint32Array([0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0]);
    const lo = (x: bigint) => Number(x & 0xffffffffn), hi = (x: bigint) => Number(x >> 32n);
    const data = new Uint32Array([lo(s.effective), lo(s.permitted), lo(s.inheritable), hi(s.effective), hi(s.permitted), hi(s.inheritable)]);
    checkedSyscall("capset", [ptr(header), ptr(data)]);
  }
  setsid(): void {
    check("setsid", libc.setsid());
  }
  ptyUnlock(master: number): void {
    const unlock = new Int32Array(1);
    check("ioctl(TIOCSPTLCK)", libc.ioctl(master, TIOCSPTLCK, ptr(unlock)), "/dev/ptmx");
  }
  ptyNumber(master: number): number {
    const n = new Int32Array(1);
    check("ioctl(TIOCGPTN)", libc.ioctl(master, TIOCGPTN, ptr(n)), "/dev/ptmx");
    return n[0]!;
  }
  ptyPeer(master: number, flags: number): number {
    return check("ioctl(TIOCGPTPEER)", libc.ioctl(master, TIOCGPTPEER, flags as unknown as Pointer), "/dev/ptmx");
  }
  setWindowSize(fd: number, rows: number, cols: number): void {
    const ws = new Uint16Array([rows, cols, 0, 0]);
    check("ioctl(TIOCSWINSZ)", libc.ioctl(fd, TIOCSWINSZ, ptr(ws)));
  }
  clearOnlcr(fd: number): void {
    // struct termios: c_iflag, c_oflag, c_cflag, c_lflag (u32 each), c_line, c_cc[19].
    const t = new Uint32Array(15);
    check("ioctl(TCGETS)", libc.ioctl(fd, TCGETS, ptr(t)));
    t[1]! &= ~ONLCR;
    check("ioctl(TCSETS)", libc.ioctl(fd, TCSETS, ptr(t)));
  }
  setControllingTerminal(fd: number): void {
    check("ioctl(TIOCSCTTY)", libc.ioctl(fd, TIOCSCTTY, null));
  }
  execve(path: string, argv: string[], envp: string[]): never {
    const a = cstrArray(argv), e = cstrArray(envp), file = cstr(path);
    // Bun ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across execve: the
    // program gets them at their default (as native-init.c's reset_signals), this Bun its own back on failure.
    const dfl = new BigUint64Array(4), ign = new BigUint64Array([1n, 0n, 0n, 0n]);
    for (const sig of BUN_IGNORED) syscall(SYS.rt_sigaction, sig, ptr(dfl), null, 8);
    libc.execve(ptr(file), ptr(a.array), ptr(e.array)); // returns only on failure
    const err = errno();
    for (const sig of BUN_IGNORED) syscall(SYS.rt_sigaction, sig, ptr(ign), null, 8);
    throw new SyscallError("execve", err, path);
  }
}

/** The real kernel, for code that is not handed a Syscalls. */
export const linuxSyscalls: Syscalls = new LinuxSyscalls();
