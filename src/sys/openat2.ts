// Kernel-enforced confinement below a directory: openat2(2) with RESOLVE_IN_ROOT walks the path
// as if the directory fd were "/", so "..", absolute symlinks and symlinked parents all stay
// inside it; RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd/N style jumps out of it.
import { ptr } from "bun:ffi";
import { cstr, errno, SYS, syscall, SyscallError } from "./libc";

const RESOLVE_NO_MAGICLINKS = 0x02n, RESOLVE_IN_ROOT = 0x10n;
/** Also refuse every symlink on the way (for targets that must be what they were checked to be). */
export const RESOLVE_NO_SYMLINKS = 0x04n;
const O_PATH = 0o10000000, O_CLOEXEC = 0o2000000;

// struct open_how { u64 flags; u64 mode; u64 resolve; }, reused: every call is synchronous.
const how = new BigUint64Array(3);

/** The fd of `relative` ("" for the directory itself) below `rootFd`, or -errno for callers that react to it. */
export function tryOpenInRoot(rootFd: number, relative: string, flags: number, resolve = 0n): number {
  how[0] = BigInt(flags);
  how[1] = 0n;
  how[2] = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
  const path = cstr(relative === "" ? "." : relative);
  const fd = Number(syscall(SYS.openat2, rootFd, ptr(path), ptr(how), how.byteLength));
  return fd < 0 ? -errno() : fd;
}

/** Like tryOpenInRoot (an O_PATH fd by default), throwing a SyscallError naming `relative`. */
export function openInRoot(rootFd: number, relative: string, flags = O_PATH | O_CLOEXEC, resolve = 0n): number {
  const fd = tryOpenInRoot(rootFd, relative, flags, resolve);
  if (fd < 0) throw new SyscallError("openat2", -fd, relative);
  return fd;
}
