// Linux capabilities by name, and the five sets of process.capabilities.
import { readFileSync } from "node:fs";
import { ptr } from "bun:ffi";
import { errno, libc, SYS, syscall, SyscallError } from "../sys/libc";

export const CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
  "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

export function lastCap(): number {
  try {
    return Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim());
  } catch {
    return CAPABILITIES.length - 1;
  }
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

const PR_CAPBSET_DROP = 24, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2, PR_CAP_AMBIENT_CLEAR_ALL = 4;

export function dropBounding(bounding: bigint): void {
  const last = lastCap();
  for (let c = 0; c <= last; c++) {
    if (bounding & (1n << BigInt(c))) continue;
    if (libc.prctl(PR_CAPBSET_DROP, BigInt(c), 0n, 0n, 0n) < 0) {
      const e = errno();
      if (e !== 22) throw new SyscallError("prctl(PR_CAPBSET_DROP)", e, CAPABILITIES[c]);
    }
  }
}

/** capset(2) v3 on the calling thread (the one that will execve). */
export function setCaps(s: CapSets): void {
  const header = new Uint32Array([0x20080522, 0]);
  const lo = (x: bigint) => Number(x & 0xffffffffn), hi = (x: bigint) => Number(x >> 32n);
  const data = new Uint32Array([lo(s.effective), lo(s.permitted), lo(s.inheritable), hi(s.effective), hi(s.permitted), hi(s.inheritable)]);
  if (syscall(SYS.capset, ptr(header), ptr(data)) < 0n) throw new SyscallError("capset", errno());
}

/** The capabilities this process still has in its bounding set: what it can grant at all. */
export function ownBounding(): bigint {
  const m = readFileSync("/proc/self/status", "utf8").match(/^CapBnd:\s+([0-9a-f]+)/m);
  return m ? BigInt("0x" + m[1]) : (1n << 64n) - 1n;
}

/** The capabilities this process holds in effect now (in its own user namespace). */
export function ownEffective(): bigint {
  const m = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s+([0-9a-f]+)/m);
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
export function setAmbient(ambient: bigint, permitted = ambient, inheritable = ambient): void {
  ambient &= permitted & inheritable;
  libc.prctl(PR_CAP_AMBIENT, BigInt(PR_CAP_AMBIENT_CLEAR_ALL), 0n, 0n, 0n);
  for (let c = 0; c < 64; c++) {
    if (!(ambient & (1n << BigInt(c)))) continue;
    if (libc.prctl(PR_CAP_AMBIENT, BigInt(PR_CAP_AMBIENT_RAISE), BigInt(c), 0n, 0n) < 0)
      throw new SyscallError("prctl(PR_CAP_AMBIENT_RAISE)", errno(), CAPABILITIES[c]);
  }
}
