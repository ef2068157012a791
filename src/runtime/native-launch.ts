// What the native init applies, computed here in TypeScript: process.* of the config (or of
// `exec --process`) as a native request. The init (create) and exec build theirs with it.
import type { Process } from "../spec/schema";
import { RLIMIT_TYPES } from "../spec/rlimits";
import { capSets, grantable, lastCap } from "../linux/capabilities";
import { encodeProgram } from "../linux/seccomp/install";
import { hookList, i32List, rlimitList, stringList, type RequestValues } from "../sys/native-request";
import type { HookState } from "./hooks";
import type { Hook } from "../spec/schema";
import type { Seccomp } from "../linux/seccomp/install";

const U64_MAX = (1n << 64n) - 1n;
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";


export interface ProcessRequest {
  process: Process;
  env: string[];
  /** The program's resolved path (init: resolved in the rootfs at create), or undefined: $PATH search. */
  execPath?: string;
  preserveFds: number;
  /** Of 3..3+preserveFds-1, the caller's fds: the rest are made close-on-exec. */
  keepFds: number[];
  seccomp?: Seccomp;
  seccompListenerSocket?: number;
  seccompListenerState?: string;
  setgroupsMayFail: boolean;
}

/** process.* as request fields. */
export function processFields(r: ProcessRequest): RequestValues {
  const p = r.process;
  // What the host cannot grant is left out (a warning at create), not a failed capset.
  const caps = grantable(capSets(p.capabilities, () => {}));
  const user = p.user ?? { uid: 0, gid: 0 };
  const envPath = [...r.env].reverse().find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  const toRlim = (n: number) => (n >= 2 ** 63 ? U64_MAX : BigInt(n));
  return {
    RLIMITS: rlimitList((p.rlimits ?? []).map((l) => ({ resource: RLIMIT_TYPES.indexOf(l.type), soft: toRlim(l.soft), hard: toRlim(l.hard) }))),
    HAS_CAPS: p.capabilities ? 1 : 0, LAST_CAP: lastCap(),
    CAP_BOUNDING: caps.bounding, CAP_EFFECTIVE: caps.effective, CAP_PERMITTED: caps.permitted,
    CAP_INHERITABLE: caps.inheritable, CAP_AMBIENT: caps.ambient,
    GIDS: i32List(user.additionalGids ?? []), SETGROUPS_MAY_FAIL: r.setgroupsMayFail ? 1 : 0,
    UID: user.uid, GID: user.gid, NO_NEW_PRIVS: p.noNewPrivileges ? 1 : 0, UMASK: user.umask ?? -1,
    CWD: p.cwd, EXEC_PATH: r.execPath ?? "", PATH: envPath,
    ARGV: stringList(p.args), ARGC: p.args.length, ENV: stringList(r.env), ENVC: r.env.length,
    PRESERVE_FDS: r.preserveFds, KEEP_FDS: i32List(r.keepFds),
    SECCOMP_PROGRAM: r.seccomp ? r.seccomp.encoded ?? encodeProgram(r.seccomp.program) : undefined, SECCOMP_FLAGS: r.seccomp?.flags ?? 0,
    SECCOMP_LISTENER_SOCKET: r.seccompListenerSocket ?? -1, SECCOMP_LISTENER_STATE: r.seccompListenerState ?? "",
    APPARMOR_PROFILE: p.apparmorProfile ?? "", SELINUX_LABEL: p.selinuxLabel ?? "",
  };
}

/** startContainer hooks with their state on stdin. */
export function hookFields(hooks: Hook[] | undefined, state: HookState): RequestValues {
  return { HOOKS: hookList(hooks ?? []), HOOK_STATE: JSON.stringify(state) };
}

/** The state JSON the seccomp agent gets with the listener fd (runtime-spec containerProcessState). */
export function listenerState(state: HookState, metadata?: string): string {
  return JSON.stringify({ ...state, fds: ["seccompFd"], metadata: metadata ?? "" });
}
