// Linux capabilities by name, and the five sets of process.capabilities.
import { SyscallError } from "../sys/libc";
import { linuxSyscalls, PR, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE, type Syscalls } from "../sys/syscalls";
import { readText } from "../sys/files";

export const CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
  "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

let kernelLastCap: number | undefined;
/** The kernel's last capability: read once per process (create and exec asked for it twice). */
export function lastCap(): number {
  if (kernelLastCap !== undefined) return kernelLastCap;
  try {
    kernelLastCap = Number(readText("/proc/sys/kernel/cap_last_cap").trim());
  } catch {
    kernelLastCap = CAPABILITIES.length - 1;
  }
  return kernelLastCap;
}

export interface CapSets { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint }

/** Names -> bit mask; unknown (or newer than the kernel) names are reported, not fatal. */
export function capMask(names: string[] | undefined, warn: (m: string) => void, last = lastCap()): bigint {
  let mask = 0n;
  for (const name of names ?? []) {
    const n = CAPABILITIES.indexOf(name.toUpperCase() as (typeof CAPABILITIES)[number]);
    if (n < 0 || n > last) warn(`unknown capability ${JSON.stringify(name)} ignored`);
    else mask |= 1n << BigInt(n);
  }
  return mask;
}

export function capSets(caps: Partial<Record<keyof CapSets, string[]>> | undefined, warn: (m: string) => void): CapSets {
  const last = lastCap();
  const m = (k: keyof CapSets) => capMask(caps?.[k], warn, last);
  return { bounding: m("bounding"), effective: m("effective"), permitted: m("permitted"), inheritable: m("inheritable"), ambient: m("ambient") };
}

const EINVAL = 22;

/** Drops from the bounding set every capability (up to the kernel's last) that `bounding` lacks. */
export function dropBounding(bounding: bigint, sys: Syscalls = linuxSyscalls, last = lastCap()): void {
  for (let c = 0; c <= last; c++) {
    if (bounding & (1n << BigInt(c))) continue;
    try {
      sys.prctl(PR.CAPBSET_DROP, [c], CAPABILITIES[c]);
    } catch (e) {
      // EINVAL: a capability this kernel does not know, so nothing to drop.
      if (!(e instanceof SyscallError && e.errno === EINVAL)) throw e;
    }
  }
}

/** capset(2) v3 on the calling thread (the one that will execve). */
export function setCaps(s: CapSets, sys: Syscalls = linuxSyscalls): void {
  sys.capset({ effective: s.effective, permitted: s.permitted, inheritable: s.inheritable });
}

/** The capabilities this process still has in its bounding set: what it can grant at all. */
export function ownBounding(): bigint {
  const m = readText("/proc/self/status").match(/^CapBnd:\s+([0-9a-f]+)/m);
  return m ? BigInt("0x" + m[1]) : (1n << 64n) - 1n;
}

/** The capabilities this process holds in effect now (in its own user namespace). */
export function ownEffective(): bigint {
  const m = readText("/proc/self/status").match(/^CapEff:\s+([0-9a-f]+)/m);
  return m ? BigInt("0x" + m[1]) : 0n;
}

/** Capability names of `mask` (for messages). */
export function capNames(mask: bigint): string[] {
  return CAPABILITIES.filter((_, i) => mask & (1n << BigInt(i)));
}

/** Every set without what the host cannot grant (runtime spec: a warning, not a failure). */
export function grantable(s: CapSets, bounding = ownBounding()): CapSets {
  return { bounding: s.bounding & bounding, effective: s.effective & bounding, permitted: s.permitted & bounding, inheritable: s.inheritable & bounding, ambient: s.ambient & bounding };
}

/** Raises the ambient set: only what the kernel allows (also in permitted and inheritable), as runc. */
export function setAmbient(ambient: bigint, permitted = ambient, inheritable = ambient, sys: Syscalls = linuxSyscalls): void {
  ambient &= permitted & inheritable;
  try {
    sys.prctl(PR.CAP_AMBIENT, [PR_CAP_AMBIENT_CLEAR_ALL]);
  } catch {} // kernels without ambient capabilities: nothing to clear
  for (let c = 0; c < 64; c++) {
    if (ambient & (1n << BigInt(c))) sys.prctl(PR.CAP_AMBIENT, [PR_CAP_AMBIENT_RAISE, c], CAPABILITIES[c]);
  }
}
