// The container process of config.json: rlimits, user, capabilities, no_new_privs,
// cwd, umask, environment, and finally execve from the main thread.
import type { Process } from "../spec/schema";
import { RLIMIT_TYPES } from "../spec/rlimits";
import { BuncError } from "../sys/errors";
import { SyscallError } from "../sys/libc";
import { linuxSyscalls, PR, type Syscalls } from "../sys/syscalls";
import { capSets, dropBounding, grantable, setAmbient, setCaps } from "./capabilities";
import { accessible, pathExists, readText, statPath } from "../sys/files";
import { makedev } from "../sys/devnum";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const U64_MAX = (1n << 64n) - 1n;
const toRlim = (n: number) => (n >= 2 ** 63 ? U64_MAX : BigInt(n));

/** process.rlimits on `pid` (0: this process); create sets them on the init from outside. */
export function setRlimits(rlimits: Process["rlimits"] = [], pid = 0, sys: Syscalls = linuxSyscalls): void {
  for (const r of rlimits) sys.prlimit(pid, RLIMIT_TYPES.indexOf(r.type), toRlim(r.soft), toRlim(r.hard), `${r.type} soft=${r.soft} hard=${r.hard}`);
}

export function envValue(env: string[], key: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) if (env[i]!.startsWith(key + "=")) return env[i]!.slice(key.length + 1);
  return undefined;
}

/** A program that cannot be run, with the exit status shells use: 127 not found, 126 not executable. */
export class ExecutableError extends BuncError {
  /** The status the container's process ends with (bunc's own command still exits 1, as runc). */
  constructor(message: string, readonly processExitCode: 126 | 127) {
    super(message);
    this.name = "ExecutableError";
  }
}

/** The exit status of a failed execve: 127 when nothing was found, 126 when it cannot run. */
export function execveExitCode(errno: number): 126 | 127 {
  return errno === 2 /* ENOENT */ || errno === 20 /* ENOTDIR */ ? 127 : 126;
}

/** args[0] as execve will find it: through $PATH of the process environment when it has no slash. */
export function resolveExecutable(arg0: string, env: string[], cwd: string): string {
  const kind = (p: string): "exec" | "noexec" | "none" => {
    try {
      // Most $PATH entries do not hold the program: missingOk builds no error object for them.
      const st = statPath(p, { missingOk: true });
      if (!st) return "none";
      if (!st.isFile()) return "noexec";
      return accessible(p, 1 /* X_OK */) ? "exec" : "noexec";
    } catch (e: any) {
      return e.code === "EACCES" || e.code === "EPERM" ? "noexec" : "none";
    }
  };
  if (arg0.includes("/")) {
    const p = arg0.startsWith("/") ? arg0 : `${cwd.replace(/\/$/, "")}/${arg0}`;
    const k = kind(p);
    // runc's wording: engines map "no such file or directory" to exit status 127.
    if (k === "none") throw new ExecutableError(`exec: "${arg0}": stat ${p}: no such file or directory`, 127);
    if (k === "noexec") throw new ExecutableError(`exec: "${arg0}": ${p}: permission denied`, 126);
    return p;
  }
  const path = envValue(env, "PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  let denied: string | undefined;
  for (const dir of path.split(":")) {
    const p = `${dir || "."}/${arg0}`;
    const k = kind(p);
    if (k === "exec") return p;
    if (k === "noexec" && !denied && pathExists(p)) denied = p;
  }
  if (denied) throw new ExecutableError(`exec: "${arg0}": ${denied}: permission denied`, 126);
  throw new ExecutableError(`exec: "${arg0}": executable file not found in $PATH`, 127);
}

export function setgroupsDenied(): boolean {
  try {
    return readText("/proc/self/setgroups").trim() === "deny";
  } catch {
    return false;
  }
}

/**
 * The process's stdio made its user's, as runc's fixStdioPermissions: a pipe or file bunc was
 * given belongs to bunc's user, and the program could not reopen it (`> /dev/stdout`, a log
 * file symlinked to it). The host's /dev/null is left alone; an fd the user namespace cannot
 * change (an unmapped owner, a read-only mount) is left as it is.
 */
export function giveStdio(uid: number, sys: Syscalls = linuxSyscalls): void {
  for (const fd of [0, 1, 2]) {
    let st: { uid: number; mode: number; rdev: bigint };
    try {
      st = sys.fstat(fd);
    } catch {
      continue; // not open
    }
    const devNull = (st.mode & 0o170000) === 0o020000 && st.rdev === makedev(1, 3);
    if (st.uid === uid || devNull) continue;
    try {
      sys.fchown(fd, uid, -1);
    } catch {}
  }
}

/**
 * Switches to process.user: supplementary groups, gid, uid. Capabilities survive the uid
 * change (PR_SET_KEEPCAPS) so that process.capabilities can be set after it.
 */
export function switchUser(user: NonNullable<Process["user"]>, sys: Syscalls = linuxSyscalls, groupsDenied = setgroupsDenied): void {
  // Not for root: a foreground run or exec passes the caller's own fds (its terminal, its files).
  if (user.uid !== 0) giveStdio(user.uid, sys);
  sys.prctl(PR.SET_KEEPCAPS, [1]);
  const gids = user.additionalGids ?? [];
  try {
    sys.setgroups(gids, gids.length ? `additionalGids ${gids.join(",")}` : undefined);
  } catch (e) {
    // A rootless user namespace has setgroups denied: fine unless groups were asked for.
    if (gids.length || !groupsDenied()) throw e;
  }
  sys.setresgid(user.gid);
  sys.setresuid(user.uid);
  sys.prctl(PR.SET_KEEPCAPS, [0]);
}

/** Everything process.* asks for, in runc's order; the caller execs right after. */
export function applyProcess(p: Process, warn: (m: string) => void, sys: Syscalls = linuxSyscalls): void {
  setRlimits(p.rlimits, 0, sys);
  if (p.oomScoreAdj !== undefined) nodeFs().writeFileSync("/proc/self/oom_score_adj", String(p.oomScoreAdj));
  const caps = grantable(capSets(p.capabilities, warn));
  if (p.capabilities) dropBounding(caps.bounding, sys);
  switchUser(p.user ?? { uid: 0, gid: 0 }, sys);
  if (p.capabilities) {
    setCaps(caps, sys);
    setAmbient(caps.ambient, caps.permitted, caps.inheritable, sys);
  }
  if (p.noNewPrivileges) sys.prctl(PR.SET_NO_NEW_PRIVS, [1]);
  if (p.user?.umask !== undefined) sys.umask(p.user.umask);
  try {
    sys.chdir(p.cwd);
  } catch (e: any) {
    throw new Error(`process.cwd: cannot change to ${p.cwd}: ${e.code ?? e.message}`);
  }
}

const F_SETFD = 2, FD_CLOEXEC = 1, CLOSE_RANGE_CLOEXEC = 4;

/** --preserve-fds: how many slots after stdio, and which of them hold the caller's fds. */
export interface PreservedFds { preserveFds: number; keepFds: number[] }

/**
 * --preserve-fds: the caller's fds among 3..3+n-1 stay open across execve. Bun marks every
 * inherited fd above 3 close-on-exec when it starts, so a Bun init must clear that again;
 * the other slots hold this Bun's own fds (its eventpoll, a plan), which must not go on.
 */
export function keepPreservedFds(fds: PreservedFds, sys: Syscalls = linuxSyscalls): void {
  const keep = new Set(fds.keepFds);
  for (let fd = 3; fd < 3 + fds.preserveFds; fd++) {
    try {
      sys.fcntl(fd, F_SETFD, keep.has(fd) ? 0 : FD_CLOEXEC);
    } catch {} // not open
  }
}

/** Closes (on exec) every fd but stdio and the preserved ones, then replaces this process. */
export function execProcess(path: string, args: string[], env: string[], fds: PreservedFds, sys: Syscalls = linuxSyscalls): never {
  keepPreservedFds(fds, sys);
  try {
    sys.closeRange(3 + fds.preserveFds, 0xffffffff, CLOSE_RANGE_CLOEXEC);
  } catch {} // Linux before 5.11 has no CLOSE_RANGE_CLOEXEC: the exec goes ahead
  try {
    return sys.execve(path, args, env);
  } catch (e) {
    if (e instanceof SyscallError) Object.assign(e, { processExitCode: execveExitCode(e.errno) });
    throw e;
  }
}
