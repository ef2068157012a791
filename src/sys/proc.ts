// Processes: waiting for children, and the CPU affinity of the calling thread.
import { check, checkedSyscall, cstr, cstrArray, libc, ptr } from "./libc";

export const WNOHANG = 1;

/** PR_SET_CHILD_SUBREAPER: orphans of this process's descendants become its children. */
export function setChildSubreaper(on: boolean): void {
  check("prctl(PR_SET_CHILD_SUBREAPER)", libc.prctl(36, on ? 1n : 0n, 0n, 0n, 0n));
}

/** Reaps every child that has ended, without waiting for the others. */
export function reapExited(): void {
  const st = new Int32Array(1);
  while (libc.waitpid(-1, ptr(st), WNOHANG) > 0);
}

/** waitpid(2): the pid that changed state (0 with WNOHANG while none did) and its wait status. */
export function waitpid(pid: number, flags = 0): { pid: number; status: number } {
  const st = new Int32Array(1);
  const got = check("waitpid", libc.waitpid(pid, ptr(st), flags), String(pid));
  return { pid: got, status: st[0]! };
}

/** The calling thread's CPU mask (cpu_set_t bytes, as long as the kernel's). */
export function schedGetAffinity(): Uint8Array {
  const mask = new Uint8Array(128);
  const size = Number(checkedSyscall("sched_getaffinity", [0, mask.length, ptr(mask)]));
  return mask.subarray(0, size);
}

/** Pins the calling thread to the CPUs of `mask` (cpu_set_t bytes). */
export function schedSetAffinity(mask: Uint8Array, context?: string): void {
  checkedSyscall("sched_setaffinity", [0, mask.length, ptr(mask)], context);
}

/** kill(2) for forwarding: whether the signal was sent (false when the process is gone). */
export function sendSignal(pid: number, signal: number): boolean {
  try {
    check("kill", libc.kill(pid, signal), String(pid));
    return true;
  } catch {
    return false;
  }
}

/** Whether this process ignores `signal` (SIG_IGN, as a caller like nohup may leave it). */
export function isIgnored(signal: number): boolean {
  const old = new BigUint64Array(4); // struct sigaction: handler, flags, restorer, mask
  checkedSyscall("rt_sigaction", [signal, null, ptr(old), 8], String(signal));
  return old[0] === 1n;
}

/**
 * Until execve, `signals` end this process: their handler is libc's _exit itself, which the
 * kernel calls with the signal's number (the exit status then). For the Bun init waiting for
 * `start` in a blocking open: as PID 1 of its namespace it would have the kernel drop a
 * signal it has no handler for, and a JavaScript handler cannot run while it blocks. What
 * this process ignores (the caller's nohup, Bun's SIGPIPE) stays ignored.
 */
export function exitOnSignals(signals: readonly number[]): void {
  const exit = libc.dlsym(null, ptr(cstr("_exit")));
  if (!exit) return;
  // struct sigaction: handler, SA_RESTORER (x86_64 needs one; _exit never returns to it), restorer, all blocked.
  const sa = new BigUint64Array([BigInt(exit), 0x04000000n, BigInt(exit), 0xffffffffffffffffn]);
  for (const sig of signals) if (!isIgnored(sig)) checkedSyscall("rt_sigaction", [sig, ptr(sa), null, 8], String(sig));
}

/** SIGKILL to our child `pid`, then reaps it: a setup that failed after the child was spawned. */
export function killAndReap(pid: number): void {
  if (sendSignal(pid, 9)) check("waitpid", libc.waitpid(pid, null, 0), String(pid));
}

/** Joins the session keyring named `name`, made if none this process may search has it; its serial. */
export function joinSessionKeyring(name: string): number {
  return Number(checkedSyscall("keyctl(KEYCTL_JOIN_SESSION_KEYRING)", [1, ptr(cstr(name))], name));
}

/** Adds `bits` to a keyring's permissions (KEYCTL_DESCRIBE, then KEYCTL_SETPERM). */
export function addKeyringPerm(serial: number, bits: number): void {
  const buf = new Uint8Array(512);
  const n = Number(checkedSyscall("keyctl(KEYCTL_DESCRIBE)", [6, serial, ptr(buf), buf.length]));
  // "type;uid;gid;perm;description"
  const perm = parseInt(new TextDecoder().decode(buf.subarray(0, Math.min(n, buf.length))).split(";")[3] ?? "", 16);
  if (Number.isNaN(perm)) throw new Error(`keyctl(KEYCTL_DESCRIBE) of keyring ${serial}: no permissions in the answer`);
  checkedSyscall("keyctl(KEYCTL_SETPERM)", [5, serial, (perm | bits) >>> 0]);
}

/** execveat(2) of the program open at `fd` (AT_EMPTY_PATH); returns only by throwing. */
export function execveatFd(fd: number, argv: string[], envp: string[], context?: string): never {
  const a = cstrArray(argv), e = cstrArray(envp), empty = cstr("");
  checkedSyscall("execveat", [fd, ptr(empty), ptr(a.array), ptr(e.array), 0x1000 /* AT_EMPTY_PATH */], context);
  throw new Error("execveat returned"); // not reached: it returns only on failure
}
