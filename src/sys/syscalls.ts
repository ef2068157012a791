// The Syscalls interface: what container setup asks of the kernel. LinuxSyscalls
// calls libc; RecordingSyscalls (test/support) records calls so mount, hostname and
// namespace logic is unit-tested without root.
import { ptr } from "bun:ffi";
import { check, cptr, cstr, libc, SYS, syscall, SyscallError, errno } from "./libc";
import { openInRoot } from "./openat2";

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
  /** An O_PATH fd of `relative` resolved by the kernel inside the directory `rootFd`. */
  openInRoot(rootFd: number, relative: string): number;
  close(fd: number): void;
  /** Mount flags (MS_*) of the mount at `path`, for remounts that must keep locked flags. */
  mountFlags(path: string): bigint;
  /** mount_setattr(2) on `path` and every mount below it (AT_RECURSIVE): MOUNT_ATTR_* to set and clear. */
  mountSetattrRecursive(path: string, set: bigint, clear: bigint): void;
}

export class LinuxSyscalls implements Syscalls {
  mountSetattrRecursive(path: string, set: bigint, clear: bigint): void {
    const attr = new BigUint64Array([set, clear, 0n, 0n]);
    const AT_FDCWD = -100, AT_RECURSIVE = 0x8000;
    if (syscall(SYS.mount_setattr, AT_FDCWD, ptr(cstr(path)), AT_RECURSIVE, ptr(attr), 32) < 0n) throw new SyscallError("mount_setattr", errno(), path);
  }
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
  openInRoot(rootFd: number, relative: string): number {
    return openInRoot(rootFd, relative);
  }
  close(fd: number): void {
    libc.close(fd);
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
}
