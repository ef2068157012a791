// The container's init, running inside the new namespaces (bunc re-executed by
// nsexec.c as PID 1). It sets up the rootfs, reports "ready", waits on the exec fifo
// until `bunc start`, then applies process.* and execs the user's program. Its errors
// travel to bunc over the sync channel, never to the container's stdio.
import type { Config, Process } from "../spec/schema";
import { LinuxSyscalls, linuxSyscalls, PR } from "../sys/syscalls";
import { Channel } from "./channel";
import { runHooks, type HookState } from "./hooks";
import type { Seccomp } from "../linux/seccomp/install";
import { type MountContext } from "../linux/mounts";
import { prepareRoot, pivotRoot, moveRoot, applyRootPropagation, maskPaths, mountAll, readonlyPaths, readonlyRoot, applySysctl } from "../linux/rootfs";
import { applyProcess, execProcess, keepPreservedFds, resolveExecutable, setgroupsDenied } from "../linux/process";
import { withHome } from "../linux/passwd";
import { bindConsole, newSession, openPtyInRoot, takeTerminal, type Pty } from "../linux/terminal";
import { connectUnix, recvFd, sendFd } from "../sys/socket";
import { preparedOnHost } from "../linux/idmap";
import { openNativeInit } from "../sys/native-init";
import { memfd } from "../sys/memfd";
import { encodeRequest, i32List, MODES } from "../sys/native-request";
import { O } from "../sys/arch";
import { execveatFd, exitOnSignals } from "../sys/proc";
import { ENDING_SIGNALS } from "../sys/signals";
import { joinContainerKeyring, keyringSearchPerm, sessionKeyringName } from "../linux/keyring";
import { setnsMount } from "../linux/namespaces";
import { hookFields, listenerState, processFields } from "./native-launch";
import { schedulingFields } from "../linux/scheduling";
import { outerContainerHint } from "../linux/outer-container";
import { effectiveMountLabel, execAttrs, openExecAttrs, setKeyCreateLabel, writeExecAttrs, type ExecAttr } from "../linux/lsm";
// Loaded when a profile names a seccomp agent (listenerPath) only.
const seccompInstall = () => require("../linux/seccomp/install") as typeof import("../linux/seccomp/install");
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export interface InitPlan {
  id: string;
  bundle: string;
  rootfs: string;
  config: Config;
  noPivot: boolean;
  hostPid: number;
  preserveFds: number;
  /** Of 3..3+preserveFds-1, the caller's fds; this Bun's own may sit between them. */
  keepFds: number[];
  ociVersion: string;
  inUserNs: boolean;
  cgroupNs: boolean;
  extraEnv: string[];
  noNewKeyring: boolean;
  /** How many cgroup.procs fds follow the fifo fd: hierarchies joined right before execve. */
  lateCgroups: number;
  cgroupPaths?: Record<string, string>;
  /** Unshared last, once init is in all its cgroups: the namespace's root is the container's cgroup. */
  newCgroupNs: boolean;
  seccomp?: Seccomp;
  /** Whether bunc may clone mount trees (it then opens bind sources on the host for the init). */
  hostCanClone: boolean;
  /** bunc's environment as KEY=VALUE: hooks without `env` of their own get it (as runc). */
  runtimeEnv: string[];
  /** Whether the native init takes over after setup (bunc's choice: BUNC_NATIVE_INIT=0 says no). */
  nativeInit: boolean;
  /** process.terminal: the console socket's path, or true when it is the fd after the late cgroups. */
  console?: string | true;
  /** --debug: trace the setup steps back to bunc over the channel. */
  debug?: boolean;
  /** The engine of the container bunc itself runs in, if any: errors say what it must allow. */
  outer?: string;
}

/** The fields each plan must carry, by kind (checked on arrival: bunc and the init are one build, but a plan is still input). */
const PLAN_FIELDS = {
  init: {
    id: "string", bundle: "string", rootfs: "string", config: "object", noPivot: "boolean", hostPid: "number", preserveFds: "number", keepFds: "object",
    ociVersion: "string", inUserNs: "boolean", cgroupNs: "boolean", extraEnv: "object", noNewKeyring: "boolean", lateCgroups: "number",
    newCgroupNs: "boolean", hostCanClone: "boolean", runtimeEnv: "object", nativeInit: "boolean",
  },
  exec: { kind: "string", process: "object", lateCgroups: "number", preserveFds: "number", keepFds: "object", state: "object" },
} as const;

/** The plan bunc sent, or an error naming the first field that is missing or of the wrong type. */
export function checkPlan(x: unknown): (InitPlan & { kind?: undefined }) | ExecPlan {
  if (typeof x !== "object" || x === null) throw new Error("bunc init: the plan is not an object");
  const kind = (x as { kind?: unknown }).kind === "exec" ? "exec" : "init";
  for (const [name, type] of Object.entries(PLAN_FIELDS[kind])) {
    const v = (x as Record<string, unknown>)[name];
    if (typeof v !== type || v === null) throw new Error(`bunc init: plan.${name}: expected ${type}, got ${v === null ? "null" : typeof v}`);
  }
  return x as InitPlan | ExecPlan;
}


const { PATH: O_PATH, DIRECTORY: O_DIRECTORY, CLOEXEC: O_CLOEXEC } = O;

export function runInit(fd: number): never {
  // Nothing in the container may open /proc/<init>/exe (the host binary) while it runs.
  linuxSyscalls.prctl(PR.SET_DUMPABLE, [0]);
  const channel = new Channel(fd);
  let plan: InitPlan | undefined;
  let stage: "setup" | "created" | "start" = "setup";
  try {
    const first = channel.recv();
    if (first?.type !== "plan") process.exit(1);
    const checked = checkPlan(first.plan);
    if (checked.kind === "exec") return runExecInit(checked, channel, fd);
    plan = checked;
    const { path, args, env } = setup(plan, channel, fd);
    stage = "created";
    channel.send({ type: "ready" });
    // bunc writes the state, then lets go: until then this init dies with it (EOF here, or
    // the parent-death signal nsexec set), so a killed create leaves no orphan behind.
    if (channel.recv()?.type !== "created") process.exit(1);
    linuxSyscalls.prctl(PR.SET_PDEATHSIG, [0]);
    // From here on native code waits and applies process.*: no Bun stays in the container.
    // It closes the channel once it is in its last cgroups; bunc's create returns then.
    const native = plan.nativeInit ? openNativeInit() : undefined;
    if (native !== undefined) execNativeInit(native, plan, fd, path, env);
    // Without the native init (built without a C compiler), this Bun init waits: it joins
    // memory/pids only at the end, or its own ~40 MB would count against the container.
    // `kill TERM` of the created container ends it, as the native init's handlers do.
    exitOnSignals(ENDING_SIGNALS);
    nodeFs().writeSync(fd, ARRIVED);
    nodeFs().closeSync(fd);
    waitForStart(fd + 1);
    stage = "start";
    const c = plan.config;
    runHooks("startContainer", c.hooks?.startContainer, hookState(plan, "created"), { env: envObject(env) });
    joinLateCgroups(fd + 2, plan.lateCgroups);
    if (plan.newCgroupNs) new LinuxSyscalls().unshare(0x02000000 /* CLONE_NEWCGROUP */);
    enterProcess(c.process!, plan.seccomp, plan, path, args, env, hookState(plan, "running"));
  } catch (e: any) {
    const failure: InitFailure = { message: e?.message ?? String(e), exitCode: processExitCode(e) };
    if (stage === "setup" || stage === "created") {
      // After "created" bunc reads to EOF for the native init's mark: this says why there is none.
      try { channel.send({ type: "error", ...failure }); } catch {}
    } else if (stage === "start") {
      // `start` reads the exec fifo until EOF: bytes after its go byte are this failure.
      reportStartFailure(failure);
    }
    process.exit(failure.exitCode);
  }
}

/** Written by whichever init waits on the fifo, right before it closes its channel: EOF without it is a death. */
const ARRIVED = "K";

/** Why the init gave up, and the exit status it ends with (127/126: the program, 1: setup). */
export interface InitFailure { message: string; exitCode: number }

/** The status this process ends with for `e`: 127/126 for a program that cannot run, else 1. */
function processExitCode(e: any): number {
  return typeof e?.processExitCode === "number" ? e.processExitCode : 1;
}

let startFd = -1;

function reportStartFailure(f: InitFailure): void {
  if (startFd < 0) return;
  try {
    nodeFs().writeSync(startFd, JSON.stringify(f));
  } catch {
    // `start` is gone (killed): the container's stderr is the only place left.
    try { nodeFs().writeSync(2, `bunc: ${f.message}\n`); } catch {}
  }
}

function envObject(env: string[]): Record<string, string> {
  return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

function hookState(plan: InitPlan, status: string): HookState {
  return { ociVersion: plan.ociVersion, id: plan.id, status, pid: plan.hostPid, bundle: plan.bundle, annotations: plan.config.annotations ?? {} };
}

let procFdDir = -1;
let listenerSocket = -1;
let consoleConn = -1;
let ptySlave = -1;

/** The console connection: runc's --console-socket path (connected now, while the host is visible) or a passed fd. */
function connectConsole(console: string | true | undefined, passedFd: number): void {
  if (console === undefined) return;
  consoleConn = console === true ? passedFd : connectUnix(console);
}

/** A pty from the container's devpts: the master goes to the console socket, the slave stays for exec. */
function handOverPty(sys: LinuxSyscalls, size: { height: number; width: number } | undefined, bind: boolean, uid: number): void {
  if (consoleConn < 0) return;
  // The container's root is this process's now: dev/ptmx resolved in it without magic links.
  const root = nodeFs().openSync("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  let pty: Pty;
  try {
    pty = openPtyInRoot(root, size, sys);
  } finally {
    nodeFs().closeSync(root);
  }
  // The process's own terminal, as a login's (runc): its user may reopen it, chmod it, ...
  if (uid !== 0) nodeFs().fchownSync(pty.slave, uid, -1);
  if (bind) bindConsole(sys, pty);
  sendFd(consoleConn, pty.master, pty.name, "console socket");
  nodeFs().closeSync(pty.master);
  nodeFs().closeSync(consoleConn);
  consoleConn = -1;
  ptySlave = pty.slave;
  // The container init lets go of the caller's stdio now, not at execve: engines wait
  // for EOF on the pipes they gave `create` (runc does the same).
  if (bind) {
    takeTerminal(ptySlave);
    ptySlave = -1;
  }
}

/**
 * The last steps, shared by init and exec: process attributes, seccomp, execve. With
 * no_new_privs the filter goes last; without it, it must be installed while
 * CAP_SYS_ADMIN is still held, before capabilities are dropped (as runc does).
 */
function enterProcess(p: Process, seccomp: Seccomp | undefined, fds: { preserveFds: number; keepFds: number[] }, path: string, args: string[], env: string[], state: HookState): never {
  if (ptySlave >= 0) takeTerminal(ptySlave);
  else newSession();
  if (seccomp && !p.noNewPrivileges) installFilter(seccomp, state);
  applyProcess(p, () => {});
  writeExecAttrs(new LinuxSyscalls(), execAttrFiles);
  if (seccomp && p.noNewPrivileges) installFilter(seccomp, state);
  return execProcess(path, args, env, fds);
}

/**
 * process.apparmorProfile's and process.selinuxLabel's attr files (lsm.ts), opened as
 * native-init.c's open_attrs does (see there): through the host's /proc, before pivot_root
 * or setns(mnt), by this thread (the one that execs: the kernel takes the write only from
 * the opener, and the attributes are per thread); written right before execve.
 */
let execAttrFiles: ExecAttr[] = [];

function openLsmAttrs(p: Pick<Process, "apparmorProfile" | "selinuxLabel"> | undefined): void {
  if (p) execAttrFiles = openExecAttrs(new LinuxSyscalls(), execAttrs(p));
}

export interface ExecPlan {
  kind: "exec";
  process: Process;
  seccomp?: Seccomp;
  /** fd+1 is the container's mount namespace; fd+2.. are late cgroup.procs. */
  lateCgroups: number;
  preserveFds: number;
  keepFds: number[];
  state: HookState;
  console?: string | true;
  /** The container's session keyring to join ("" or absent: keep the caller's, --no-new-keyring). */
  keyring?: string;
}

/**
 * `bunc exec`: this process was cloned into every namespace of the container but the
 * mount namespace, which only a thread with its own fs struct may join.
 */
function runExecInit(plan: ExecPlan, channel: Channel, fd: number): never {
  try {
    // The plan arrived, so bunc is alive; the process must outlive `exec --detach`.
    linuxSyscalls.prctl(PR.SET_PDEATHSIG, [0]);
    const sys = new LinuxSyscalls();
    connectConsole(plan.console, fd + 2 + plan.lateCgroups);
    openLsmAttrs(plan.process);
    // In the container's user namespace already; attr/keycreate is still the host's /proc.
    if (plan.keyring) {
      setKeyCreateLabel(sys, plan.process.selinuxLabel);
      joinContainerKeyring(plan.keyring);
    }
    // The agent's socket by its host path, before the container's mount namespace (as create).
    if (plan.seccomp?.listenerPath) listenerSocket = seccompInstall().connectSeccompAgent(plan.seccomp.listenerPath);
    // This process's pid as the host sees it (the host's /proc still), for the agent's state.
    const hostPid = Number(nodeFs().readlinkSync("/proc/self"));
    setnsMount(fd + 1, sys); // unshare(CLONE_FS) renewed right before: Bun starts threads lazily
    nodeFs().closeSync(fd + 1);
    handOverPty(sys, plan.process.consoleSize, false, plan.process.user?.uid ?? 0);
    joinLateCgroups(fd + 2, plan.lateCgroups);
    const p = plan.process;
    const env = withHome(p.env, p.user?.uid ?? 0);
    const path = resolveExecutable(p.args[0]!, env, p.cwd);
    // The sync socket is close-on-exec: EOF tells bunc that execve succeeded.
    enterProcess(p, plan.seccomp, plan, path, p.args, env, { ...plan.state, pid: hostPid });
  } catch (e: any) {
    const exitCode = processExitCode(e);
    try { channel.send({ type: "error", message: e?.message ?? String(e), exitCode }); } catch {}
    process.exit(exitCode);
  }
}

function joinLateCgroups(first: number, count: number): void {
  for (let fd = first; fd < first + count; fd++) {
    nodeFs().writeSync(fd, "0"); // "0": the writing process itself
    nodeFs().closeSync(fd);
  }
}

function installFilter(seccomp: Seccomp, hs: HookState): void {
  const { installSeccomp, sendSeccompListener } = seccompInstall();
  const listener = installSeccomp(seccomp.program, seccomp.flags);
  if (listener !== null && listenerSocket >= 0) {
    const state = { ...hs, fds: ["seccompFd"], metadata: seccomp.listenerMetadata ?? "" };
    sendSeccompListener(listenerSocket, listener, JSON.stringify(state));
    nodeFs().closeSync(listener);
    nodeFs().closeSync(listenerSocket);
  }
}

/**
 * The config's mounts, /dev and the cwd into the rootfs. Without a mount namespace of its own
 * they go below the rootfs in the host's (as runc; delete takes them away again), and the
 * host's "/" keeps its propagation.
 */
function mountRootfs(sys: LinuxSyscalls, plan: InitPlan, hasMountNs: boolean, channel: Channel, channelFd: number, debug: (m: string) => void): void {
  const c = plan.config;
  if (hasMountNs) prepareRoot(sys, plan.rootfs, c.linux.rootfsPropagation);
  const rootFd = nodeFs().openSync(plan.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  const ctx: MountContext = { sys, rootfs: plan.rootfs, rootFd, bundle: plan.bundle, inUserNs: plan.inUserNs, cgroupPaths: plan.cgroupPaths, mountLabel: effectiveMountLabel(c) };
  // Idmapped bind mounts, and every bind of a user-namespace container, come ready-made from
  // bunc: they need the host's privilege or reach (a root-only source directory).
  const trees = new Map<number, number>();
  const fromHost = c.mounts.filter((m) => preparedOnHost(c, m, plan.hostCanClone)).length;
  if (fromHost) {
    channel.send({ type: "idmap" });
    for (let n = fromHost; n > 0; n--) {
      const got = recvFd(channelFd);
      trees.set(Number(got.data), got.fd);
    }
  }
  try {
    mountAll(ctx, c, {
      trees,
      mounted: (m) => debug(`mounted ${m.type ?? "bind"} on ${m.destination}`),
      failed: (i, m, e: any) => new Error(`mounts[${i}] (${m.destination}): ${e?.message}${outerContainerHint(m.type === "proc" ? "proc" : "mount", e?.code, plan.outer)}`),
    });
  } finally {
    nodeFs().closeSync(rootFd);
    for (const fd of trees.values()) nodeFs().closeSync(fd);
  }
}

function setup(plan: InitPlan, channel: Channel, channelFd: number) {
  const sys = new LinuxSyscalls();
  const c = plan.config;
  const hasMountNs = c.linux.namespaces.some((n) => n.type === "mount");
  const debug = (message: string) => plan.debug && channel.send({ type: "debug", message });
  // Read while the host's mounts are visible (selinuxfs is not the container's after pivot_root).
  const mountLabel = effectiveMountLabel(c);
  // A session keyring of its own, so keys do not leak between containers (as runc), made
  // under the process's SELinux label, and searchable so that exec can join it.
  if (!plan.noNewKeyring) {
    setKeyCreateLabel(sys, c.process?.selinuxLabel);
    joinContainerKeyring(sessionKeyringName(plan.id), keyringSearchPerm(plan.inUserNs));
  }
  // The host's /proc/self/fd, opened before pivot_root: the exec fifo is reopened through
  // it afterwards, whether or not the container mounts a /proc of its own.
  procFdDir = nodeFs().openSync("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  // The native init opens its own (a file opened by this process is not its to write).
  if (!plan.nativeInit) openLsmAttrs(c.process);
  connectConsole(plan.console, channelFd + 2 + plan.lateCgroups);
  // The seccomp agent's socket is a host path: connect while the host is still visible.
  if (plan.seccomp?.listenerPath) {
    listenerSocket = seccompInstall().connectSeccompAgent(plan.seccomp.listenerPath);
  }
  mountRootfs(sys, plan, hasMountNs, channel, channelFd, debug);
  channel.send({ type: "hooks" });
  const reply = channel.recv();
  if (reply?.type !== "continue") process.exit(1);
  // A container-namespace hook works in the container's filesystem (runc: the rootfs).
  runHooks("createContainer", c.hooks?.createContainer, hookState(plan, "creating"), { cwd: plan.rootfs, env: envObject(plan.runtimeEnv) });
  if (hasMountNs) {
    if (plan.noPivot) moveRoot(sys, plan.rootfs);
    else pivotRoot(sys, plan.rootfs);
    handOverPty(sys, c.process!.consoleSize, true, c.process!.user?.uid ?? 0);
    // Sysctls before /proc/sys turns read-only (as runc).
    applySysctl(c.linux.sysctl);
    maskPaths(sys, c.linux.maskedPaths, "/", mountLabel);
    readonlyPaths(sys, c.linux.readonlyPaths);
    debug(`${plan.noPivot ? "moved" : "pivot_root to"} ${plan.rootfs}; /dev, sysctls, masked and read-only paths done`);
    // Last of the binds: an (r)unbindable root refuses binds from it (as crun, after all mounts).
    applyRootPropagation(sys, c.linux.rootfsPropagation);
  } else {
    // Masked and read-only paths pinned inside the rootfs while "/" is still the host's.
    maskPaths(sys, c.linux.maskedPaths, plan.rootfs, mountLabel);
    readonlyPaths(sys, c.linux.readonlyPaths, plan.rootfs);
    sys.chroot(plan.rootfs);
    sys.chdir("/");
    handOverPty(sys, c.process!.consoleSize, true, c.process!.user?.uid ?? 0);
    applySysctl(c.linux.sysctl);
  }
  try {
    if (c.hostname !== undefined) sys.sethostname(c.hostname);
    if (c.domainname !== undefined) sys.setdomainname(c.domainname);
  } catch (e: any) {
    throw new Error(`${e?.syscall === "setdomainname" ? "domainname" : "hostname"}: ${e.message}${outerContainerHint("hostname", e?.code, plan.outer)}`);
  }
  if (hasMountNs && c.root?.readonly) readonlyRoot(sys);
  const p = c.process!;
  const env = withHome([...p.env, ...plan.extraEnv], p.user?.uid ?? 0);
  const path = resolveExecutable(p.args[0]!, env, p.cwd);
  return { path, args: p.args, env };
}

/**
 * Replaces this Bun init with the native one: it joins the late cgroups and the cgroup
 * namespace now, waits on the exec fifo (fd+1) and does the rest after the go.
 */
function execNativeInit(native: number, plan: InitPlan, fd: number, path: string, env: string[]): never {
  const c = plan.config;
  const cgroupFds = Array.from({ length: plan.lateCgroups }, (_, i) => fd + 2 + i);
  const request = encodeRequest({
    MODE: MODES.INIT, REPORT_FD: -1, SYNC_FD: fd, MNT_NS_FD: -1, PROC_FD_DIR: procFdDir, FIFO_FD: fd + 1,
    CGROUP_FDS: i32List(cgroupFds), NEW_CGROUP_NS: plan.newCgroupNs ? 1 : 0,
    ...hookFields(c.hooks?.startContainer?.map((h) => ({ ...h, env: h.env ?? env })), hookState(plan, "created")),
    ...schedulingFields(c.process!, c.linux, true),
    ...processFields({
      process: c.process!, env, execPath: path, preserveFds: plan.preserveFds, keepFds: plan.keepFds, seccomp: plan.seccomp,
      seccompListenerSocket: listenerSocket, seccompListenerState: listenerState(hookState(plan, "running"), plan.seccomp?.listenerMetadata),
      setgroupsMayFail: setgroupsDenied(),
    }),
  });
  const req = memfd("bunc-init-request", request);
  keepPreservedFds(plan);
  for (const f of [req, fd, procFdDir, fd + 1, ...cgroupFds, listenerSocket]) if (f >= 0) linuxSyscalls.fcntl(f, 2 /* F_SETFD */, 0);
  return execveatFd(native, ["bunc-init", String(req)], [], "bunc-init");
}

/** Blocks until `bunc start` opens the exec fifo for reading. */
function waitForStart(fifoPathFd: number): void {
  const fd = linuxSyscalls.openat(procFdDir, String(fifoPathFd), O.WRONLY | O_CLOEXEC, 0, "exec.fifo");
  nodeFs().writeSync(fd, "0");
  // Left open (close-on-exec): `start` reads until EOF, i.e. until execve, before poststart;
  // a failure before execve is written here instead.
  startFd = fd;
  nodeFs().closeSync(fifoPathFd);
  nodeFs().closeSync(procFdDir);
}
