// The container process of config.json: rlimits, user, capabilities, no_new_privs,
// cwd, umask, environment, and finally execve from the main thread.
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { ptr } from "bun:ffi";
import type { Process } from "../spec/schema";
import { RLIMIT_TYPES } from "../spec/rlimits";
import { BuncError } from "../sys/errors";
import { check, cstr, cstrArray, errno, libc, SYS, syscall, SyscallError } from "../sys/libc";
import { capSets, dropBounding, grantable, setAmbient, setCaps } from "./capabilities";
import { homeDir } from "./passwd";

const U64_MAX = (1n << 64n) - 1n;
const toRlim = (n: number) => (n >= 2 ** 63 ? U64_MAX : BigInt(n));

/** process.rlimits on `pid` (0: this process); create sets them on the init from outside. */
export function setRlimits(rlimits: Process["rlimits"] = [], pid = 0): void {
  for (const r of rlimits) {
    const buf = new BigUint64Array([toRlim(r.soft), toRlim(r.hard)]);
    if (libc.prlimit(pid, RLIMIT_TYPES.indexOf(r.type), ptr(buf), null) < 0)
      throw new SyscallError("prlimit", errno(), `${r.type} soft=${r.soft} hard=${r.hard}`);
  }
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
      if (!statSync(p).isFile()) return "noexec";
      accessSync(p, constants.X_OK);
      return "exec";
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
    if (k === "noexec" && !denied && existsSync(p)) denied = p;
  }
  if (denied) throw new ExecutableError(`exec: "${arg0}": ${denied}: permission denied`, 126);
  throw new ExecutableError(`exec: "${arg0}": executable file not found in $PATH`, 127);
}

/** HOME from the container's /etc/passwd when the config does not set it (as runc does). */
export function withHome(env: string[], uid: number, passwd?: string): string[] {
  if (envValue(env, "HOME") !== undefined) return env;
  return [...env, `HOME=${homeDir(uid, passwd) || "/"}`];
}

const PR_SET_KEEPCAPS = 8, PR_SET_NO_NEW_PRIVS = 38;

export function setgroupsDenied(): boolean {
  try {
    return readFileSync("/proc/self/setgroups", "utf8").trim() === "deny";
  } catch {
    return false;
  }
}

/** Everything process.* asks for, in runc's order; the caller execs right after. */
export function applyProcess(p: Process, warn: (m: string) => void): void {
  setRlimits(p.rlimits);
  if (p.oomScoreAdj !== undefined) writeFileSync("/proc/self/oom_score_adj", String(p.oomScoreAdj));
  const caps = grantable(capSets(p.capabilities, warn));
  if (p.capabilities) dropBounding(caps.bounding);
  const user = p.user ?? { uid: 0, gid: 0 };
  check("prctl(PR_SET_KEEPCAPS)", libc.prctl(PR_SET_KEEPCAPS, 1n, 0n, 0n, 0n));
  const gids = new Uint32Array(user.additionalGids ?? []);
  // A rootless user namespace has setgroups denied: fine unless groups were asked for.
  if (libc.setgroups(BigInt(gids.length), gids.length ? ptr(gids) : null) < 0) {
    const e = errno();
    if (gids.length || !setgroupsDenied()) throw new SyscallError("setgroups", e, gids.length ? `additionalGids ${[...gids].join(",")}` : undefined);
  }
  check("setresgid", libc.setresgid(BigInt(user.gid), BigInt(user.gid), BigInt(user.gid)), `gid ${user.gid}`);
  check("setresuid", libc.setresuid(BigInt(user.uid), BigInt(user.uid), BigInt(user.uid)), `uid ${user.uid}`);
  check("prctl(PR_SET_KEEPCAPS)", libc.prctl(PR_SET_KEEPCAPS, 0n, 0n, 0n, 0n));
  if (p.capabilities) {
    setCaps(caps);
    setAmbient(caps.ambient, caps.permitted, caps.inheritable);
  }
  if (p.noNewPrivileges) check("prctl(PR_SET_NO_NEW_PRIVS)", libc.prctl(PR_SET_NO_NEW_PRIVS, 1n, 0n, 0n, 0n));
  if (user.umask !== undefined) libc.umask(BigInt(user.umask));
  try {
    process.chdir(p.cwd);
  } catch (e: any) {
    throw new Error(`process.cwd: cannot change to ${p.cwd}: ${e.code ?? e.message}`);
  }
}

/**
 * --preserve-fds: fds 3..3+n-1 stay open across execve. Bun marks every inherited fd above
 * 3 close-on-exec when it starts, so a Bun init must clear that again before it execs.
 */
export function keepPreservedFds(n: number): void {
  for (let fd = 3; fd < 3 + n; fd++) libc.fcntl(fd, 2 /* F_SETFD */, 0n);
}

/** Closes (on exec) every fd but stdio and the preserved ones, then replaces this process. */
export function execProcess(path: string, args: string[], env: string[], preserveFds: number): never {
  keepPreservedFds(preserveFds);
  syscall(SYS.close_range, 3 + preserveFds, 0xffffffff, 4 /* CLOSE_RANGE_CLOEXEC */);
  const argv = cstrArray(args), envp = cstrArray(env), file = cstr(path);
  libc.execve(ptr(file), ptr(argv.array), ptr(envp.array));
  const e = errno();
  throw Object.assign(new SyscallError("execve", e, path), { processExitCode: execveExitCode(e) });
}
