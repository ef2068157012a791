// The one contract between bunc and its native init (native-init.c): the request fields
// and failure steps are declared here once; scripts/build.ts generates native-request.h
// from them, and encodeRequest lays a request out in that order. Failures come back as
// (step, errno, exit status) and are turned into bunc's messages by describeFailure.
import { errnoName } from "./errno";
import { describeSignalDeath } from "./signals";

export const REQUEST_MAGIC = 0x31746e69636e7562n; // "bunctni1"
export const REQUEST_VERSION = 2;

/**
 * Field name -> kind: a number (u64 slot) or bytes (offset<<32 | length into the blob).
 * TERMINAL_FD (exec): the pty slave to take as controlling terminal and stdio; 0 is none
 * (stdio holds 0-2, so a passed fd is never 0).
 * APPARMOR_PROFILE: process.apparmorProfile, written as "exec <profile>" to the init's own
 * attr/apparmor/exec right before execve (empty: left alone).
 * SELINUX_LABEL: process.selinuxLabel, written to the init's own attr/exec right before
 * execve, and (init with host setup, and exec: they join the keyring themselves) to
 * attr/keycreate before the session keyring is joined (empty: left alone; bunc sends it only
 * with SELinux).
 * KEYRING: the session keyring to join (init with host setup, exec; empty: keep the caller's).
 * KEYRING_PERM: permission bits added to it once joined (create: search, so exec finds it by name).
 * STAGE_*: the native stages (MODE STAGES, see nsexec.ts's spawnInit): the namespaces joined
 * (i32 pairs fd, nstype; user first) and unshared, the clone into the new ones, and the fds
 * the init gets. With ARGV (ARGC > 0) stage 2 executes that program, by STAGE_EXEC_FD when it
 * is one (the Bun init: bunc's binary), instead of going on as the native init.
 */
export const FIELDS = {
  MODE: "u64", REPORT_FD: "u64", SYNC_FD: "u64", MNT_NS_FD: "u64", PROC_FD_DIR: "u64", FIFO_FD: "u64",
  CGROUP_FDS: "bytes", NEW_CGROUP_NS: "u64", HOOKS: "bytes", HOOK_STATE: "bytes",
  SECCOMP_PROGRAM: "bytes", SECCOMP_FLAGS: "u64", SECCOMP_LISTENER_SOCKET: "u64", SECCOMP_LISTENER_STATE: "bytes",
  RLIMITS: "bytes", HAS_CAPS: "u64", LAST_CAP: "u64", CAP_BOUNDING: "u64", CAP_EFFECTIVE: "u64", CAP_PERMITTED: "u64",
  CAP_INHERITABLE: "u64", CAP_AMBIENT: "u64", GIDS: "bytes", SETGROUPS_MAY_FAIL: "u64", UID: "u64", GID: "u64",
  NO_NEW_PRIVS: "u64", UMASK: "u64", CWD: "bytes", EXEC_PATH: "bytes", PATH: "bytes", ARGV: "bytes", ARGC: "u64",
  ENV: "bytes", ENVC: "u64", PRESERVE_FDS: "u64", KEEP_FDS: "bytes",
  SCHED_SET: "u64", SCHED_POLICY: "u64", SCHED_FLAGS: "u64", SCHED_NICE: "u64", SCHED_PRIORITY: "u64",
  SCHED_RUNTIME: "u64", SCHED_DEADLINE: "u64", SCHED_PERIOD: "u64", IOPRIO: "u64", CPU_AFFINITY: "bytes", RESET_AFFINITY: "u64",
  PERSONALITY: "u64", MEMPOLICY_SET: "u64", MEMPOLICY_MODE: "u64", MEMPOLICY_NODES: "bytes",
  FROZEN_CGROUP_FDS: "bytes", KEYRING: "bytes", KEYRING_PERM: "u64", REQUEST_FD: "u64", TERMINAL_FD: "u64", PROC_CONTEXTS: "u64",
  APPARMOR_PROFILE: "bytes", SELINUX_LABEL: "bytes",
  STAGE_JOINS: "bytes", STAGE_UNSHARE_FLAGS: "u64", STAGE_TIME_OFFSETS: "bytes", STAGE_CLONE_FLAGS: "u64",
  STAGE_CGROUP2_DIR: "u64", STAGE_CGROUP_FDS: "bytes", STAGE_SET_ROOT: "u64", STAGE_GO_FD: "u64", STAGE_REPORT_FD: "u64",
  STAGE_SYNC_FD: "u64", STAGE_SYNC_TARGET: "u64", STAGE_STDIO: "bytes", STAGE_KEEP_FDS: "bytes", STAGE_PASS_FDS: "bytes",
  STAGE_EXEC_FD: "u64", BLOB_LEN: "u64",
} as const;
export type FieldName = keyof typeof FIELDS;

/**
 * INIT: after the Bun init set up the rootfs; EXEC: `bunc exec`; INIT_HOST: bunc sets up the
 * rootfs itself meanwhile; STAGES: the two native stages that clone the init or exec's process
 * into the container's namespaces, which then goes on with its own request.
 */
export const MODES = { INIT: 1, EXEC: 2, INIT_HOST: 3, STAGES: 4 } as const;

/** The steps a failure names, in the order the native init takes them. */
export const STEPS = [
  "REQUEST", "SETNS_MNT", "CGROUP", "CGROUP_NS", "SECCOMP", "SECCOMP_LISTENER", "HOOK", "HOOK_STATUS", "HOOK_TIMEOUT",
  "RLIMITS", "CAPBSET", "KEEPCAPS", "SETGROUPS", "SETRESGID", "SETRESUID", "CAPSET", "AMBIENT", "NO_NEW_PRIVS", "CWD", "EXECVE",
  "SCHEDULER", "IOPRIO", "AFFINITY", "PERSONALITY", "MEMPOLICY", "ROOT", "CONSOLE", "PROC", "APPARMOR",
  "SELINUX", "KEYCREATE", "KEYRING", "LOOPBACK", "INTERPRETER",
] as const;
export type Step = (typeof STEPS)[number];

const STEP_TEXT: Record<Step, string> = {
  REQUEST: "reading the request", SETNS_MNT: "setns(mnt)", CGROUP: "joining the container's cgroup",
  CGROUP_NS: "unshare(CLONE_NEWCGROUP)", SECCOMP: "seccomp", SECCOMP_LISTENER: "sending the seccomp listener",
  HOOK: "startContainer hook", HOOK_STATUS: "startContainer hook", HOOK_TIMEOUT: "startContainer hook timed out",
  RLIMITS: "prlimit", CAPBSET: "prctl(PR_CAPBSET_DROP)", KEEPCAPS: "prctl(PR_SET_KEEPCAPS)", SETGROUPS: "setgroups",
  SETRESGID: "setresgid", SETRESUID: "setresuid", CAPSET: "capset", AMBIENT: "prctl(PR_CAP_AMBIENT_RAISE)",
  NO_NEW_PRIVS: "prctl(PR_SET_NO_NEW_PRIVS)", CWD: "chdir", EXECVE: "execve",
  SCHEDULER: "process.scheduler: sched_setattr", IOPRIO: "process.ioPriority: ioprio_set", AFFINITY: "process.execCPUAffinity.final: sched_setaffinity",
  PERSONALITY: "linux.personality: personality", MEMPOLICY: "linux.memoryPolicy: set_mempolicy",
  ROOT: "entering the moved root (--no-pivot)", CONSOLE: "taking the terminal (setsid, TIOCSCTTY)",
  PROC: "fsopen(proc) in the container's PID namespace",
  APPARMOR: "process.apparmorProfile: applying the profile (attr/apparmor/exec)",
  SELINUX: "process.selinuxLabel: applying the label (attr/exec)",
  KEYCREATE: "process.selinuxLabel: labelling the session keyring (attr/keycreate)",
  KEYRING: "joining the session keyring (keyctl)",
  LOOPBACK: "bringing the network namespace's loopback (lo) up",
  INTERPRETER: "execve",
};

export interface NativeFailure { step: Step; errno: number; exitCode: number }

/** Written by exec's native init right before it joins a frozen cgroup (exec --ignore-paused). */
export const FREEZING_MARK = 0x5a524e42; // "BNRZ"

export function isFreezingMark(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === FREEZING_MARK;
}

/** The failure record native-init.c writes: "BNRE", step, errno (or wait status), exit status. */
export function decodeFailure(bytes: Uint8Array): NativeFailure | undefined {
  if (bytes.length < 16) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
  if (dv.getUint32(0, true) !== 0x45524e42) return undefined;
  return { step: STEPS[dv.getInt32(4, true)] ?? "REQUEST", errno: dv.getInt32(8, true), exitCode: dv.getInt32(12, true) };
}

/** One line for the user, naming the step and what the kernel said. */
export function describeFailure(f: NativeFailure, subject?: { program?: string; cwd?: string; hooks?: string[]; apparmorProfile?: string; selinuxLabel?: string; cpusetCpus?: string }): string {
  const what = STEP_TEXT[f.step];
  // The kernel refuses a deadline policy to a task whose affinity is not every CPU (sched_setattr(2)).
  if (f.step === "SCHEDULER" && f.errno === 1 && subject?.cpusetCpus)
    return `${what}: EPERM: process scheduler can't be used together with AllowedCPUs (linux.resources.cpu.cpus "${subject.cpusetCpus}")`;
  if (f.step === "APPARMOR" && subject?.apparmorProfile)
    return `process.apparmorProfile: cannot apply AppArmor profile "${subject.apparmorProfile}": ${errnoName(f.errno)}${f.errno === 2 ? " (not loaded)" : ""}`;
  if ((f.step === "SELINUX" || f.step === "KEYCREATE") && subject?.selinuxLabel)
    return `process.selinuxLabel: cannot ${f.step === "SELINUX" ? "apply SELinux label" : "label the session keyring"} "${subject.selinuxLabel}": ${errnoName(f.errno)}${f.errno === 22 ? " (not a context of the loaded policy)" : ""}`;
  if (f.step === "HOOK_STATUS" || f.step === "HOOK_TIMEOUT") {
    // The wait status in the low 16 bits, the hook's index above (runc's "#1" is the second).
    const st = f.errno & 0xffff, index = f.errno >>> 16, path = subject?.hooks?.[index];
    const head = `error running startContainer hook #${index}${path ? `: ${path}` : ""}`;
    if (f.step === "HOOK_TIMEOUT") return `${head}: timed out`;
    return `${head}: ${st & 0x7f ? describeSignalDeath(st & 0x7f) : `exit status ${(st >> 8) & 0xff}`}`;
  }
  // runc's wording for a program that cannot run: engines map it to exit status 127/126.
  const prog = subject?.program;
  if (f.step === "EXECVE" && prog !== undefined) {
    if (f.errno === 2 || f.errno === 20)
      return prog.includes("/") ? `exec: "${prog}": stat ${prog}: no such file or directory` : `exec: "${prog}": executable file not found in $PATH`;
    if (f.errno === 13) return `exec: "${prog}": permission denied`;
  }
  // runc's words for ENOENT from execve of a file that was there before the filter went on:
  // a script's interpreter or an ELF loader missing (or a startContainer hook removed it).
  if (f.step === "INTERPRETER") return `exec ${prog ?? "the program"}: no such file or directory (the file, its #! interpreter or its ELF loader)`;
  const on = f.step === "EXECVE" ? subject?.program : f.step === "CWD" ? subject?.cwd : undefined;
  return `${what}${on ? ` ${on}` : ""}: ${errnoName(f.errno)}`;
}

/** The C header for native-init.c, generated from the declarations above. */
export function generateHeader(): string {
  const names = Object.keys(FIELDS);
  return [
    "/* Generated by scripts/build.ts from src/sys/native-request.ts: do not edit. */",
    `#define REQUEST_MAGIC 0x${REQUEST_MAGIC.toString(16)}UL`,
    `#define REQUEST_VERSION ${REQUEST_VERSION}`,
    `enum { ${names.map((n) => `F_${n}`).join(", ")}, N_FIELDS };`,
    `enum { ${STEPS.map((s) => `STEP_${s}`).join(", ")} };`,
    `enum { ${Object.entries(MODES).map(([k, v]) => `MODE_${k} = ${v}`).join(", ")} };`,
    "",
  ].join("\n");
}

export type RequestValues = { [K in FieldName as (typeof FIELDS)[K] extends "u64" ? K : never]?: number | bigint } & {
  [K in FieldName as (typeof FIELDS)[K] extends "bytes" ? K : never]?: Uint8Array | string;
};

const encoder = new TextEncoder();

/** header (magic, version, field count), one u64 per field, then the blob of every bytes field. */
export function encodeRequest(values: RequestValues): Uint8Array {
  const names = Object.keys(FIELDS) as FieldName[];
  const blobs: Uint8Array[] = [];
  let blobLen = 0;
  const slots = new BigUint64Array(names.length);
  names.forEach((name, i) => {
    const v = (values as Record<string, unknown>)[name];
    if (FIELDS[name] === "bytes") {
      const b = typeof v === "string" ? encoder.encode(v + "\0") : ((v as Uint8Array | undefined) ?? new Uint8Array());
      // An empty string is length 0 (unset), not a lone NUL.
      const bytes = typeof v === "string" && v === "" ? new Uint8Array() : b;
      slots[i] = (BigInt(blobLen) << 32n) | BigInt(bytes.length);
      blobs.push(bytes);
      blobLen += bytes.length;
    } else if (name !== "BLOB_LEN") {
      slots[i] = BigInt.asUintN(64, BigInt((v as number | bigint | undefined) ?? 0));
    }
  });
  slots[names.indexOf("BLOB_LEN")] = BigInt(blobLen);
  const out = new Uint8Array(24 + slots.byteLength + blobLen);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, REQUEST_MAGIC, true);
  dv.setBigUint64(8, BigInt(REQUEST_VERSION), true);
  dv.setBigUint64(16, BigInt(names.length), true);
  out.set(new Uint8Array(slots.buffer), 24);
  let off = 24 + slots.byteLength;
  for (const b of blobs) { out.set(b, off); off += b.length; }
  return out;
}

/** NUL-terminated strings back to back (argv, env). */
export function stringList(items: readonly string[]): Uint8Array {
  return encoder.encode(items.map((s) => s + "\0").join(""));
}

export function i32List(items: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(items).buffer);
}

/** Hooks as native-init.c walks them: u32 timeout, argc, envc, then path, args, env (NUL-terminated). */
export function hookList(hooks: readonly { path: string; args?: string[]; env?: string[]; timeout?: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const h of hooks) {
    const args = h.args?.length ? h.args : [h.path];
    const env = h.env ?? [];
    parts.push(new Uint8Array(new Uint32Array([h.timeout ?? 0, args.length, env.length]).buffer), stringList([h.path, ...args, ...env]));
  }
  return concat(parts);
}

/** (u32 resource, u64 soft, u64 hard) per rlimit, packed. */
export function rlimitList(rlimits: readonly { resource: number; soft: bigint; hard: bigint }[]): Uint8Array {
  const out = new Uint8Array(20 * rlimits.length);
  const dv = new DataView(out.buffer);
  rlimits.forEach((r, i) => {
    dv.setUint32(i * 20, r.resource, true);
    dv.setBigUint64(i * 20 + 4, r.soft, true);
    dv.setBigUint64(i * 20 + 12, r.hard, true);
  });
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** fd numbers from `first + 1` on, group after group, in the order given. */
export function layoutFds<K extends string>(first: number, groups: Record<K, unknown[]>): Record<K, number[]> {
  let next = first + 1;
  const out = {} as Record<K, number[]>;
  for (const k of Object.keys(groups) as K[]) out[k] = groups[k].map(() => next++);
  return out;
}
