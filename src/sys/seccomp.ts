// seccomp(2): loading a filter on the calling thread, and asking the kernel what it knows.
import { checkedSyscall, errno, syscall, ptr } from "./libc";
import { SYS } from "./arch";

const SECCOMP_SET_MODE_FILTER = 1, SECCOMP_GET_ACTION_AVAIL = 2;
const EFAULT = 14;

/**
 * SECCOMP_SET_MODE_FILTER with `filter` (struct sock_filter[], `length` instructions). The
 * result: a listener fd with NEW_LISTENER, a thread id that could not sync with TSYNC, else 0.
 */
export function seccompSetFilter(filter: Uint8Array, length: number, flags: number): bigint {
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; } (pointer at offset 8)
  const fprog = new BigUint64Array([BigInt(length), BigInt(ptr(filter))]);
  return checkedSyscall("seccomp(SECCOMP_SET_MODE_FILTER)", [SECCOMP_SET_MODE_FILTER, flags, ptr(fprog)]);
}

/** Whether the kernel accepts a filter flag: a NULL program gives EFAULT if so, EINVAL if not. */
export function seccompFlagSupported(flag: number): boolean {
  const rc = syscall(SYS.seccomp, SECCOMP_SET_MODE_FILTER, flag, null);
  return rc === 0n || (rc < 0n && errno() === EFAULT);
}

/** Whether the kernel knows a SECCOMP_RET_* action. */
export function seccompActionAvailable(action: number): boolean {
  const v = new Uint32Array([action >>> 0]);
  return syscall(SYS.seccomp, SECCOMP_GET_ACTION_AVAIL, 0, ptr(v)) === 0n;
}
