// The Syscalls interface: what container setup asks of the kernel. LinuxSyscalls
// calls libc; RecordingSyscalls (test/support) records calls so mount, hostname and
// namespace logic is unit-tested without root.
import { ptr } from "bun:ffi";
import { check, cptr, cstr, libc, SYS, syscall, SyscallError, errno } from "./libc";

export interface Syscalls {
  mount(source: string | null, target: string, fstype: string | null, flags: bigint, data: string | null): void;
  umount2(target: string, flags: number): void;
  pivotRoot(newRoot: string, putOld: string): void;
  chdir(path: string): void;
  chroot(path: string): void;
  sethostname(name: string): void;
  setdomainname(name: string): void;
  unshare(flags: number): void;
  setns(fd: number, nstype: number): void;
  mknod(path: string, mode: number, dev: bigint): void;
  prctl(option: number, a2?: number | bigint, a3?: number | bigint, a4?: number | bigint, a5?: number | bigint): number;
  umask(mask: number): number;
  kill(pid: number, signal: number): void;
}

export class LinuxSyscalls implements Syscalls {
  mount(source: string | null, target: string, fstype: string | null, flags: bigint, data: string | null): void {
    check("mount", libc.mount(cptr(source), cptr(target), cptr(fstype), flags, cptr(data)), target);
  }
  umount2(target: string, flags: number): void {
    check("umount2", libc.umount2(ptr(cstr(target)), flags), target);
  }
  pivotRoot(newRoot: string, putOld: string): void {
    const a = cstr(newRoot), b = cstr(putOld);
    if (syscall(SYS.pivot_root, ptr(a), ptr(b)) < 0n) throw new SyscallError("pivot_root", errno(), newRoot);
  }
  chdir(path: string): void {
    check("chdir", libc.chdir(ptr(cstr(path))), path);
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
  mknod(path: string, mode: number, dev: bigint): void {
    check("mknod", libc.mknod(ptr(cstr(path)), BigInt(mode), dev), path);
  }
  prctl(option: number, a2: number | bigint = 0, a3: number | bigint = 0, a4: number | bigint = 0, a5: number | bigint = 0): number {
    return check("prctl", libc.prctl(option, BigInt(a2), BigInt(a3), BigInt(a4), BigInt(a5)));
  }
  umask(mask: number): number {
    return Number(libc.umask(BigInt(mask)));
  }
  kill(pid: number, signal: number): void {
    check("kill", libc.kill(pid, signal), String(pid));
  }
}
