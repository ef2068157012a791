// A Syscalls double for unit tests without root: every call is recorded; mounts,
// hostnames, namespaces and device nodes are not made. openInRoot and close are real
// (openat2 RESOLVE_IN_ROOT needs no privilege) so that the code under test gets real
// O_PATH fds, and each recorded target of the form /proc/self/fd/N is also given as
// the path that fd pinned (`resolved`), which is what the assertions look at.
import { closeSync, readlinkSync, writeFileSync } from "node:fs";
import type { Syscalls } from "../../src/sys/syscalls";
import { openInRoot } from "../../src/sys/openat2";
import { SyscallError } from "../../src/sys/libc";

export interface RecordedCall {
  op: keyof Syscalls;
  args: unknown[];
  /** For a /proc/self/fd/N target: the path the fd pins (readlink of the fd). */
  resolved?: string;
}

export interface RecordingOptions {
  /** Return an errno to make a call fail with a SyscallError (e.g. 1 = EPERM). */
  fail?: (call: RecordedCall) => number | undefined;
  /** What mountFlags() reports for a path (default 0n). */
  mountFlags?: (path: string) => bigint;
  /** mknod leaves an empty regular file where the node would be (so chmod/chown work). */
  mknodPlaceholder?: boolean;
}

export class RecordingSyscalls implements Syscalls {
  readonly calls: RecordedCall[] = [];
  private umaskValue = 0o022;
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
    if (e) throw new SyscallError(op, e, target);
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
  mknod(path: string, mode: number, dev: bigint): void {
    this.rec("mknod", [path, mode, dev], path);
    if (this.opts.mknodPlaceholder) writeFileSync(path, "", { flag: "wx" });
  }
  prctl(option: number, a2: number | bigint = 0, a3: number | bigint = 0, a4: number | bigint = 0, a5: number | bigint = 0): number {
    this.rec("prctl", [option, a2, a3, a4, a5]);
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
  openInRoot(rootFd: number, relative: string): number {
    this.rec("openInRoot", [rootFd, relative]);
    return openInRoot(rootFd, relative);
  }
  close(fd: number): void {
    this.rec("close", [fd]);
    closeSync(fd);
  }
  mountSetattrRecursive(path: string, set: bigint, clear: bigint): void {
    this.rec("mountSetattrRecursive", [path, set, clear], path);
  }
  mountFlags(path: string): bigint {
    this.rec("mountFlags", [path], path);
    return this.opts.mountFlags?.(path) ?? 0n;
  }
}
