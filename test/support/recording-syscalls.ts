// A Syscalls double for unit tests without root: every call is recorded; mounts,
// hostnames, namespaces, device nodes, credentials, capabilities, terminals and execve
// are not made. The calls below a directory fd (openInRoot, openat, mkdirat) and close
// are real (no privilege needed, the tests work in a tmpdir) so that the code under test
// gets real fds, and each recorded target of the form /proc/self/fd/N is also given as
// the path that fd pinned (`resolved`), which is what the assertions look at. open()
// of a path (e.g. /dev/ptmx) returns a made-up fd instead.
import { readlinkSync, writeFileSync } from "node:fs";
import { LinuxSyscalls, type CapsetSets, type Syscalls } from "../../src/sys/syscalls";
import { SyscallError } from "../../src/sys/libc";
import { O } from "../../src/sys/arch";

export interface RecordedCall {
  op: keyof Syscalls;
  args: unknown[];
  /** For a /proc/self/fd/N target: the path the fd pins (readlink of the fd). */
  resolved?: string;
}

export interface RecordingOptions {
  /** Return an errno to make a call fail with a SyscallError (e.g. 1 = EPERM). */
  fail?: (call: RecordedCall) => number | undefined;
  /** What fileMode() reports for an fd (default 0o755). */
  fileMode?: (fd: number) => number;
  /** What fstat() reports for an fd (default: a root-owned FIFO, as a pipe from bunc). */
  fstat?: (fd: number) => { uid: number; mode: number; rdev: bigint };
  /** What mountFlags() reports for a path (default 0n). */
  mountFlags?: (path: string) => bigint;
  /** mknodat leaves an empty regular file where the node would be (so chmod/chown work). */
  mknodPlaceholder?: boolean;
  /** What ptyNumber() reports (default 0). */
  ptyNumber?: number;
}

const real = new LinuxSyscalls();
/** Fds open() makes up: far above what the test process has open. */
const FAKE_FDS_FROM = 100_000;

export class RecordingSyscalls implements Syscalls {
  readonly calls: RecordedCall[] = [];
  private umaskValue = 0o022;
  private nextFakeFd = FAKE_FDS_FROM;
  constructor(private readonly opts: RecordingOptions = {}) {}

  private rec(op: keyof Syscalls, args: unknown[], target?: string): RecordedCall {
    const call: RecordedCall = { op, args };
    const m = target?.match(/^\/proc\/self\/fd\/(\d+)$/);
    if (m) {
      try {
        call.resolved = readlinkSync(target!);
      } catch {}
    }
    this.calls.push(call);
    const e = this.opts.fail?.(call);
    if (e) throw new SyscallError(op, e, target ?? (typeof args[0] === "string" ? args[0] : undefined));
    return call;
  }

  /** The recorded calls of one kind. */
  of(op: keyof Syscalls): RecordedCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** The mounts as [source, target (resolved when pinned), fstype, flags, data]. */
  mounts(): [string | null, string, string | null, bigint, string | null][] {
    return this.of("mount").map((c) => {
      const [source, target, fstype, flags, data] = c.args as [string | null, string, string | null, bigint, string | null];
      return [source, c.resolved ?? target, fstype, flags, data];
    });
  }

  mount(source: string | null, target: string, fstype: string | null, flags: bigint, data: string | null): void {
    this.rec("mount", [source, target, fstype, flags, data], target);
  }
  umount2(target: string, flags: number): void {
    this.rec("umount2", [target, flags], target);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    this.rec("pivotRoot", [newRoot, putOld]);
  }
  chdir(path: string): void {
    this.rec("chdir", [path]);
  }
  chroot(path: string): void {
    this.rec("chroot", [path]);
  }
  sethostname(name: string): void {
    this.rec("sethostname", [name]);
  }
  setdomainname(name: string): void {
    this.rec("setdomainname", [name]);
  }
  unshare(flags: number): void {
    this.rec("unshare", [flags]);
  }
  setns(fd: number, nstype: number): void {
    this.rec("setns", [fd, nstype]);
  }
  /** Recorded with the host path of the node (the directory fd's path and the name). */
  mknodat(dirFd: number, name: string, mode: number, dev: bigint, context?: string): void {
    this.rec("mknodat", [`${readlinkSync(`/proc/self/fd/${dirFd}`)}/${name}`, mode, dev], context);
    if (this.opts.mknodPlaceholder) real.close(real.openat(dirFd, name, O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0o644));
  }
  prctl(option: number, args: readonly (number | bigint)[] = [], context?: string): number {
    this.rec("prctl", [option, [...args]], context);
    return 0;
  }
  umask(mask: number): number {
    this.rec("umask", [mask]);
    const old = this.umaskValue;
    this.umaskValue = mask;
    return old;
  }
  kill(pid: number, signal: number): void {
    this.rec("kill", [pid, signal]);
  }
  openInRoot(rootFd: number, relative: string, flags?: number, resolve?: bigint): number {
    this.rec("openInRoot", flags === undefined && resolve === undefined ? [rootFd, relative] : [rootFd, relative, flags, resolve]);
    return real.openInRoot(rootFd, relative, flags, resolve);
  }
  /** Recorded as an openInRoot (what it is, minus the error for an absent path). */
  openInRootIfExists(rootFd: number, relative: string, flags?: number): number | undefined {
    this.rec("openInRoot", flags === undefined ? [rootFd, relative] : [rootFd, relative, flags]);
    return real.openInRootIfExists(rootFd, relative, flags);
  }
  open(path: string, flags: number): number {
    this.rec("open", [path, flags]);
    return this.nextFakeFd++;
  }
  openat(dirFd: number, name: string, flags: number, mode: number, context?: string): number {
    this.rec("openat", [dirFd, name, flags, mode]);
    return real.openat(dirFd, name, flags, mode, context);
  }
  mkdirat(dirFd: number, name: string, mode: number, context?: string): void {
    this.rec("mkdirat", [dirFd, name, mode]);
    real.mkdirat(dirFd, name, mode, context);
  }
  symlinkat(target: string, dirFd: number, name: string, context?: string): void {
    this.rec("symlinkat", [target, dirFd, name]);
    real.symlinkat(target, dirFd, name, context);
  }
  close(fd: number): void {
    this.rec("close", [fd]);
    if (fd < FAKE_FDS_FROM) real.close(fd);
  }
  fchdir(fd: number): void {
    this.rec("fchdir", [fd]);
  }
  write(fd: number, data: string): void {
    this.rec("write", [fd, data]);
  }
  fsetxattr(fd: number, name: string, value: string): void {
    this.rec("fsetxattr", [fd, name, value]);
  }
  dup2(oldFd: number, newFd: number): void {
    this.rec("dup2", [oldFd, newFd]);
  }
  fcntl(fd: number, cmd: number, arg: number): number {
    this.rec("fcntl", [fd, cmd, arg]);
    return 0;
  }
  closeRange(first: number, last: number, flags: number): void {
    this.rec("closeRange", [first, last, flags]);
  }
  moveMount(fromFd: number, toFd: number, toPath: string): void {
    this.rec("moveMount", [fromFd, toFd, toPath], toPath);
  }
  /** A made-up fd, as open()'s: no tree is cloned. */
  openTreeOf(fd: number, context: string): number {
    this.rec("openTreeOf", [fd], context);
    return this.nextFakeFd++;
  }
  prlimit(pid: number, resource: number, soft: bigint, hard: bigint, context?: string): void {
    this.rec("prlimit", [pid, resource, soft, hard], context);
  }
  setgroups(gids: readonly number[], context?: string): void {
    this.rec("setgroups", [[...gids]], context);
  }
  setresgid(gid: number): void {
    this.rec("setresgid", [gid]);
  }
  setresuid(uid: number): void {
    this.rec("setresuid", [uid]);
  }
  fstat(fd: number): { uid: number; mode: number; rdev: bigint } {
    this.rec("fstat", [fd]);
    return this.opts.fstat?.(fd) ?? { uid: 0, mode: 0o010600, rdev: 0n };
  }
  fchown(fd: number, uid: number, gid: number): void {
    this.rec("fchown", [fd, uid, gid]);
  }
  capset(sets: CapsetSets): void {
    this.rec("capset", [{ ...sets }]);
  }
  setsid(): void {
    this.rec("setsid", []);
  }
  ptyUnlock(master: number): void {
    this.rec("ptyUnlock", [master]);
  }
  ptyNumber(master: number): number {
    this.rec("ptyNumber", [master]);
    return this.opts.ptyNumber ?? 0;
  }
  ptyPeer(master: number, flags: number): number {
    this.rec("ptyPeer", [master, flags]);
    return this.nextFakeFd++;
  }
  setWindowSize(fd: number, rows: number, cols: number): void {
    this.rec("setWindowSize", [fd, rows, cols]);
  }
  clearOnlcr(fd: number): void {
    this.rec("clearOnlcr", [fd]);
  }
  setControllingTerminal(fd: number): void {
    this.rec("setControllingTerminal", [fd]);
  }
  execve(path: string, argv: string[], envp: string[]): never {
    this.rec("execve", [path, argv, envp], path);
    // The double cannot replace the test process: it fails as a missing program would.
    throw new SyscallError("execve", 2 /* ENOENT */, path);
  }
  mountSetattrRecursive(path: string, set: bigint, clear: bigint): void {
    this.rec("mountSetattrRecursive", [path, set, clear], path);
  }
  fileMode(fd: number): number {
    this.rec("fileMode", [fd]);
    return this.opts.fileMode?.(fd) ?? 0o755;
  }
  mountFlags(path: string): bigint {
    this.rec("mountFlags", [path], path);
    return this.opts.mountFlags?.(path) ?? 0n;
  }
}
