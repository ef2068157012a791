// Credentials of the calling thread only: the kernel keeps them per thread, and neither
// setfsuid/setfsgid nor capget/capset are broadcast to the other threads by libc.
import { checkedSyscall, libc, ptr } from "./libc";

/**
 * The ids files are made and checked with (fsuid/fsgid). Leaving 0 drops the file
 * capabilities (CAP_CHOWN, CAP_DAC_OVERRIDE, ...) from the effective set; going back to 0
 * raises them again.
 */
export function setFsIds(uid: number, gid: number): void {
  libc.setfsgid(gid);
  libc.setfsuid(uid);
}

/** effective = permitted, on this thread (capget/capset v3). */
export function raiseEffectiveCaps(): void {
  const header = new Uint32Array([0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0]), data = new Uint32Array(6);
  checkedSyscall("capget", [ptr(header), ptr(data)]);
  data[0] = data[1]!;
  data[3] = data[4]!;
  checkedSyscall("capset", [ptr(header), ptr(data)]);
}
