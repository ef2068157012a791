// Kernel-enforced confinement below a directory: openat2(2) with RESOLVE_IN_ROOT walks the path
// as if the directory fd were "/", so "..", absolute symlinks and symlinked parents all stay
// inside it; RESOLVE_NO_MAGICLINKS refuses /proc/<pid>/fd/N style jumps out of it.
import { cstr, errno, syscall, SyscallError, ptr } from "./libc";
import { O, SYS } from "./arch";

/** openat2's resolve flags; NO_SYMLINKS also refuses every symlink on the way (for targets that must be what they were checked to be). */
export const RESOLVE = { NO_MAGICLINKS: 0x02n, NO_SYMLINKS: 0x04n, IN_ROOT: 0x10n } as const;
export const RESOLVE_NO_SYMLINKS = RESOLVE.NO_SYMLINKS;

// struct open_how { u64 flags; u64 mode; u64 resolve; }, reused: every call is synchronous.
const how = new BigUint64Array(3);

/** The fd of `relative` ("" for the directory itself) below `rootFd`, or -errno for callers that react to it. */
export function tryOpenInRoot(rootFd: number, relative: string, flags: number, resolve = 0n): number {
  how[0] = BigInt(flags);
  how[1] = 0n;
  how[2] = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS | resolve;
  const path = cstr(relative === "" ? "." : relative);
  const fd = Number(syscall(SYS.openat2, rootFd, ptr(path), ptr(how), how.byteLength));
  return fd < 0 ? -errno() : fd;
}

/** Like tryOpenInRoot (an O_PATH fd by default), throwing a SyscallError naming `relative`. */
export function openInRoot(rootFd: number, relative: string, flags = O.PATH | O.CLOEXEC, resolve = 0n): number {
  const fd = tryOpenInRoot(rootFd, relative, flags, resolve);
  if (fd < 0) throw new SyscallError("openat2", -fd, relative);
  return fd;
}
