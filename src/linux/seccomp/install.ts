// Loads a compiled filter with seccomp(SECCOMP_SET_MODE_FILTER) and hands a NOTIFY listener
// fd to the seccomp agent at listenerPath (runtime-spec: SCM_RIGHTS plus the state JSON).
// The filter binds the calling thread only (unless TSYNC): call it from the main thread
// right before execve. The kernel needs no_new_privs or CAP_SYS_ADMIN.
import { connectUnix, sendFd } from "../../sys/socket";
import { seccompActionAvailable, seccompFlagSupported, seccompSetFilter } from "../../sys/seccomp";
import type { BpfInstruction } from "./bpf";
import { SECCOMP_FLAGS, type SeccompFlagName } from "../../spec/seccomp-flags";
import type { SeccompProfile } from "../../spec/seccomp";
import { closeFd } from "../../sys/files";
import { withContext } from "../../sys/errors";

/**
 * A profile compiled by bunc (create-plan.ts), for an init to install: the filter, its flags,
 * the agent; `encoded`: the program as the kernel takes it, when it was read so (saved-filter.ts).
 */
export interface Seccomp { program: BpfInstruction[]; encoded?: Uint8Array; flags: number; listenerPath?: string; listenerMetadata?: string }

/** Flag names (as the profile's `flags`) or a number -> the seccomp(2) flags word. */
export function filterFlags(flags: readonly SeccompFlagName[] | number = 0): number {
  if (typeof flags === "number") return flags;
  return flags.reduce((acc, f) => acc | SECCOMP_FLAGS[f], 0);
}

/** struct sock_filter[] in native byte order: u16 code, u8 jt, u8 jf, u32 k. */
export function encodeProgram(program: readonly BpfInstruction[]): Uint8Array {
  const buf = new Uint8Array(program.length * 8);
  const dv = new DataView(buf.buffer);
  program.forEach((ins, i) => {
    dv.setUint16(i * 8, ins.code, true);
    dv.setUint8(i * 8 + 2, ins.jt);
    dv.setUint8(i * 8 + 3, ins.jf);
    dv.setUint32(i * 8 + 4, ins.k >>> 0, true);
  });
  return buf;
}

/** The instructions of an encoded program (encodeProgram's inverse). */
export function decodeProgram(bytes: Uint8Array): BpfInstruction[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: BpfInstruction[] = [];
  for (let o = 0; o + 8 <= bytes.length; o += 8) out.push({ code: dv.getUint16(o, true), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, true) });
  return out;
}

/** The seccomp(2) flags word to install a profile with; NOTIFY needs NEW_LISTENER. */
export function profileFlags(profile: Pick<SeccompProfile, "flags" | "defaultAction" | "syscalls">): number {
  let f = (profile.flags ?? []).reduce((acc, n) => acc | SECCOMP_FLAGS[n], 0);
  const notify = profile.defaultAction === "SCMP_ACT_NOTIFY" || !!profile.syscalls?.some((r) => r.action === "SCMP_ACT_NOTIFY");
  if (notify) f |= SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_NEW_LISTENER;
  return f;
}

/**
 * Install the filter on the calling thread. Returns the listener fd when the flags include
 * NEW_LISTENER (needed for SCMP_ACT_NOTIFY), else null.
 */
export function installSeccomp(program: readonly BpfInstruction[], flags: readonly SeccompFlagName[] | number = 0): number | null {
  let f = filterFlags(flags);
  // TSYNC with NEW_LISTENER is only allowed when TSYNC reports failure as ESRCH.
  if (f & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_TSYNC && f & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_NEW_LISTENER)
    f |= SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  const rc = seccompSetFilter(encodeProgram(program), program.length, f);
  // With TSYNC (without ESRCH) a positive result is the id of a thread that could not sync.
  if (f & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_TSYNC && !(f & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_NEW_LISTENER) && rc > 0n)
    throw new Error(`seccomp: thread ${rc} could not be synchronized (TSYNC)`);
  return f & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_NEW_LISTENER ? Number(rc) : null;
}

export { connectUnix, seccompActionAvailable, seccompFlagSupported };

/** A socket to the seccomp agent at linux.seccomp.listenerPath; its failure names the field (runc's words too). */
export function connectSeccompAgent(path: string): number {
  try {
    return connectUnix(path);
  } catch (e) {
    throw withContext("linux.seccomp.listenerPath: failed to connect with seccomp agent", e);
  }
}

/**
 * Send the seccomp listener fd with the container process state JSON (runtime-spec
 * "containerProcessState": fds ["seccompFd"], pid, metadata, state) to the agent.
 * `target` is the listenerPath or an already connected socket fd (left open).
 */
export function sendSeccompListener(target: string | number, listenerFd: number, stateJson: string): void {
  const sock = typeof target === "number" ? target : connectSeccompAgent(target);
  try {
    sendFd(sock, listenerFd, stateJson, typeof target === "string" ? target : "seccomp agent socket");
  } finally {
    if (typeof target === "string") closeFd(sock);
  }
}
