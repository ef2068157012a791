// Creates the container's init (or exec's process) in two stages: the native init's own
// (native-init.c, MODE_STAGES) when it is what runs next, else nsexec.c's from a fork of bunc.
import source from "./nsexec.c" with { type: "text" };
import { bindSymbols, check, compileC, cstr, cstrArray, errno, libc, ptr, SyscallError } from "./libc";
import { memfd } from "./memfd";
import { openNativeInit } from "./native-init";
import { SYS } from "./arch";
import { dupAbove, pipe } from "./io";
import { embeddedBytes, embeddedFile } from "./embedded";
import { closeFd, readFd, writeFully } from "./files";
import { encodeRequest, i32List, MODES, stringList } from "./native-request";
import { spawnProgram } from "./spawn";

let compiled: { bunc_nsexec: (req: unknown) => number } | undefined;
const SYMBOLS = { bunc_nsexec: { args: ["ptr"], returns: "i32" } } as const;

/**
 * nsexec.c as machine code: prebuilt by scripts/build.ts with the system's C compiler and
 * embedded in the binary when one was there (dlopen, ~0.3 ms), else compiled now by
 * bun:ffi's TinyCC (~3-4 ms). BUNC_NSEXEC=tcc forces TinyCC.
 */
function nsexec() {
  if (compiled) return compiled;
  const embedded = process.env.BUNC_NSEXEC === "tcc" ? undefined
    : embeddedFile(`nsexec-${process.arch}`);
  if (embedded) {
    const fd = memfd("bunc-nsexec.so", embeddedBytes(embedded), false, true);
    try {
      compiled = bindSymbols(`/proc/self/fd/${fd}`, SYMBOLS) as any;
    } finally {
      closeFd(fd);
    }
    return compiled!;
  }
  // TinyCC cannot read files embedded in a compiled binary, so hand it a memfd.
  const fd = memfd("bunc-nsexec.c", source);
  try {
    compiled = compileC(`/proc/self/fd/${fd}`, SYMBOLS) as any;
  } finally {
    closeFd(fd);
  }
  return compiled!;
}

export interface NamespaceJoin { fd: number; nstype: number; path: string }

export interface SpawnInitOptions {
  cloneFlags: number;           // CLONE_NEW* for namespaces created fresh
  unshareFlags: number;         // CLONE_NEWTIME (cannot be a clone() flag)
  timeOffsets?: string;         // "monotonic <s> <ns>\nboottime <s> <ns>\n"
  joins: NamespaceJoin[];       // user first
  syncFd: number;               // init's end of the sync socket
  syncTarget: number;           // fd number it gets in init (3 + preserved fds)
  setRoot: boolean;             // setresuid(0) in a new user namespace
  passFds: number[];            // fds init gets at syncTarget+1, +2, ...
  keepFds?: number[];           // of 3..syncTarget-1, the caller's fds (--preserve-fds); the rest are closed
  cgroupJoinFds?: number[];     // v1 `tasks` files init writes "0" to before exec
  cgroup2Dir?: number;          // a cgroup2 directory init is cloned into (CLONE_INTO_CGROUP)
  execFd: number;               // what stage 2 executes: the native init, or bunc's own binary (-1: argv[0])
  /** execFd is the native init and this fd (among passFds, as the init numbers it) its request: stage 2 goes on as the init, no exec. */
  nativeRequestFd?: number;
  argv: string[];
  env: string[];
  /** fds to become the container's 0, 1, 2 (default: bunc's own). */
  stdio?: [number, number, number];
}

/** nsexec.c's stages, forked from this process: its request is an array of longs and pointers. */
function cloneStages(o: SpawnInitOptions, goRead: number, goWrite: number, reportRead: number, reportWrite: number): number {
  const path = cstr(o.argv[0]!);
  const argv = cstrArray(o.argv);
  const envp = cstrArray(o.env);
  const offsets = o.timeOffsets ? cstr(o.timeOffsets) : null;
  const pass = new Int32Array(Math.max(1, o.passFds.length));
  pass.set(o.passFds);
  const keep = new Uint8Array(Math.max(1, o.syncTarget));
  for (const fd of o.keepFds ?? []) keep[fd] = 1;
  const cgfds = new Int32Array(Math.max(1, o.cgroupJoinFds?.length ?? 0));
  cgfds.set(o.cgroupJoinFds ?? []);
  const head = [SYS.clone, SYS.close_range, o.cloneFlags, o.unshareFlags, offsets ? ptr(offsets) : 0,
    goRead, reportWrite, o.syncFd, o.syncTarget, o.setRoot ? 1 : 0, ptr(path), ptr(argv.array), ptr(envp.array), SYS.execveat, o.execFd, o.passFds.length, ptr(pass), o.cgroupJoinFds?.length ?? 0, ptr(cgfds), SYS.clone3, o.cgroup2Dir ?? -1,
    SYS.setgroups, SYS.setresgid, SYS.setresuid, goWrite, reportRead, ptr(keep), ...(o.stdio ?? [-1, -1, -1]), o.joins.length];
  const req = new BigInt64Array(head.length + 2 * o.joins.length);
  head.forEach((v, i) => (req[i] = BigInt(v)));
  o.joins.forEach((j, i) => { req[head.length + 2 * i] = BigInt(j.fd); req[head.length + 1 + 2 * i] = BigInt(j.nstype); });
  // The children copy all of it at the clone: it need live only through the call.
  const pid = nsexec().bunc_nsexec(ptr(req));
  if (pid < 0) throw new SyscallError("clone", errno());
  void [path, argv, envp, offsets, pass, cgfds, keep];
  return pid;
}

/**
 * The native init (`stages`, its memfd) as both stages (native-init.c, MODE_STAGES):
 * posix_spawned, so stage 1 is not a copy of this process and stage 2 a clone of a ~30 KB
 * one. Stage 2 goes on as the init with its request (nativeRequestFd), or executes
 * execFd/argv[0] (the Bun init) as nsexec.c's does. The stages' request is a memfd; the fds
 * it names reach them at their own numbers.
 */
function spawnStages(o: SpawnInitOptions, stages: number, goRead: number, reportWrite: number): number {
  const stdio = o.stdio ?? [-1, -1, -1];
  const program = o.nativeRequestFd === undefined;
  const request = memfd("bunc-stages", encodeRequest({
    MODE: MODES.STAGES,
    STAGE_JOINS: i32List(o.joins.flatMap((j) => [j.fd, j.nstype])), STAGE_UNSHARE_FLAGS: o.unshareFlags,
    STAGE_TIME_OFFSETS: o.timeOffsets ?? "", STAGE_CLONE_FLAGS: o.cloneFlags, STAGE_CGROUP2_DIR: o.cgroup2Dir ?? -1,
    STAGE_CGROUP_FDS: i32List(o.cgroupJoinFds ?? []), STAGE_SET_ROOT: o.setRoot ? 1 : 0,
    STAGE_GO_FD: goRead, STAGE_REPORT_FD: reportWrite, STAGE_SYNC_FD: o.syncFd, STAGE_SYNC_TARGET: o.syncTarget,
    STAGE_STDIO: i32List(stdio), STAGE_KEEP_FDS: i32List(o.keepFds ?? []), STAGE_PASS_FDS: i32List(o.passFds),
    ...(program ? { STAGE_EXEC_FD: o.execFd, ARGV: stringList(o.argv), ARGC: o.argv.length, ENV: stringList(o.env), ENVC: o.env.length } : { STAGE_EXEC_FD: -1 }),
  }));
  try {
    const inherit = [request, goRead, reportWrite, o.syncFd, o.cgroup2Dir ?? -1, ...o.joins.map((j) => j.fd),
      ...(o.cgroupJoinFds ?? []), ...stdio, ...(o.keepFds ?? []), ...o.passFds, program ? o.execFd : -1].filter((fd) => fd >= 0);
    return spawnProgram(`/proc/self/fd/${stages}`, ["bunc-init", program ? "-" : String(o.nativeRequestFd), String(request)], [], inherit);
  } finally {
    closeFd(request);
  }
}

export interface SpawnedInit {
  pid: number;
  /** Let init exec bunc (after id maps are written). */
  release(): void;
  /** Abort before release: init exits. */
  abort(): void;
}

export function spawnInit(o: SpawnInitOptions): SpawnedInit {
  const floor = o.syncTarget + o.passFds.length + 2;
  const cg = o.cgroupJoinFds ?? [];
  const stdio = o.stdio ?? [-1, -1, -1];
  const high = [o.syncFd, o.execFd, o.cgroup2Dir ?? -1, ...stdio, ...cg, ...o.passFds].map((fd) => (fd >= 0 ? dupAbove(fd, floor) : fd)); // sources must not overlap init's fd slots
  try {
    return spawnWith({
      ...o, syncFd: high[0]!, execFd: high[1]!, cgroup2Dir: high[2]!, stdio: high.slice(3, 6) as [number, number, number],
      cgroupJoinFds: high.slice(6, 6 + cg.length), passFds: high.slice(6 + cg.length),
    });
  } finally {
    for (const fd of high) if (fd >= 0) closeFd(fd);
  }
}

function spawnWith(o: SpawnInitOptions): SpawnedInit {
  // The native init makes both stages; nsexec.c where none was built, or when BUNC_NSEXEC
  // (tcc, so) asks for it (tests, comparison).
  const stages = process.env.BUNC_NSEXEC !== undefined ? undefined : o.nativeRequestFd !== undefined ? o.execFd : openNativeInit();
  // clone3(CLONE_INTO_CGROUP) cannot be combined with CLONE_PARENT: stage 2 reaches us
  // as an orphan of stage 1 instead.
  if ((o.cgroup2Dir ?? -1) >= 0) check("prctl(PR_SET_CHILD_SUBREAPER)", libc.prctl(36, 1n, 0n, 0n, 0n));
  const [goRead, goWrite] = pipe();
  const [reportRead, reportWrite] = pipe();
  let stage1: number;
  try {
    stage1 = stages !== undefined ? spawnStages(o, stages, goRead, reportWrite) : cloneStages(o, goRead, goWrite, reportRead, reportWrite);
  } finally {
    if (stages !== undefined && stages !== o.execFd) closeFd(stages);
    closeFd(goRead);
    closeFd(reportWrite);
  }
  const msg = new BigInt64Array(2);
  let got: number;
  try {
    got = readFd(reportRead, new Uint8Array(msg.buffer));
  } finally {
    closeFd(reportRead);
    libc.waitpid(stage1, null, 0);
    // Stage 2 is ours now; stop adopting orphans (a library user's process stays as it was).
    if ((o.cgroup2Dir ?? -1) >= 0) libc.prctl(36 /* PR_SET_CHILD_SUBREAPER */, 0n, 0n, 0n, 0n);
  }
  if (got !== 16 || msg[0]! < 0n) {
    closeFd(goWrite);
    const err = Number(-(msg[0] ?? -5n)), step = Number(msg[1] ?? 0n);
    if (step > 0) throw new SyscallError("setns", err, o.joins[step - 1]!.path);
    throw new SyscallError(step === -1 ? "unshare" : step === -2 ? "timens_offsets" : "clone", err || 5);
  }
  const pid = Number(msg[0]);
  return {
    pid,
    release() {
      writeFully(goWrite, "1");
      closeFd(goWrite);
    },
    abort() {
      closeFd(goWrite);
    },
  };
}
