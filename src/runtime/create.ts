// `create`: validates the bundle, claims the id, starts the init through nsexec and
// drives it until it waits on the exec fifo. Any failure undoes everything.
import { chownSync, closeSync, existsSync, ftruncateSync, openSync, statSync, writeFileSync, writeSync, renameSync, rmSync } from "node:fs";
import { isAbsolute, join, resolve, dirname, basename } from "node:path";
import { readConfig } from "../spec/parse";
import type { Config } from "../spec/schema";
import { SyscallError } from "../sys/libc";
import { O } from "../sys/arch";
import { dupAbove, mkfifo } from "../sys/io";
import { killAndReap, waitpid, WNOHANG } from "../sys/proc";
import { spawnInit } from "../sys/nsexec";
import { openSelfForExec } from "../sys/self-exe";
import { connectUnix, recvFd, sendFd, sendPidfd, socketPair } from "../sys/socket";
import { canCloneMounts, checkIdmappedMounts, idmappedTrees } from "../linux/idmap";
import { CLONE_FLAGS, idMapText, openJoins, planNamespaces, timeOffsetsText } from "../linux/namespaces";
import { capNames, capSets, ownBounding } from "../linux/capabilities";
import { Channel } from "./channel";
import { asBuncError, BuncError, withContext } from "../sys/errors";
import { runHooks, runHooksWarn, HookError } from "./hooks";
import { claimStateDir, Container, FIFO, lockStateDir, OCI_VERSION, readProcStat, writeStateAtomically, type StoredState } from "./state";
import { setRlimits } from "../linux/process";
import { decodeFailure, describeFailure } from "../sys/native-request";
import { readToEnd, readUpTo } from "../sys/io";
import { canSetUpFromHost, setUpFromHost, toHostId } from "./host-setup";
import { openNativeInit } from "../sys/native-init";
import { memfd } from "../sys/nsexec";
import { encodeRequest, i32List, layoutFds, MODES } from "../sys/native-request";
import { hookFields, listenerState, processFields } from "./native-launch";
import { schedulingFields } from "../linux/scheduling";
import { hasNativeInit } from "../sys/native-init";
import { checkSchedulingConfig, usesSchedulingFields } from "../linux/scheduling";
import { checkNetDevices, moveBack, moveInto, plannedNetDevices } from "../linux/net-devices";
import { isHostNamespace } from "../linux/sysctl";
import type { InitPlan } from "./init";
import { effectiveResources, joinsEarly, joinsLate, newCgroups } from "./cgroups";
import { CgroupError, type CgroupManager } from "../linux/cgroups";
import { describeCgroups, describeIdMaps, describeNamespaces, tracer } from "./trace";
import { detectOuterContainer, outerContainerHint, type OuterFailure } from "../linux/outer-container";
import type { RuntimeContext } from "./context";

export interface CreateOptions {
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  /** The container's stdin, stdout and stderr (fds); default: this process's own. */
  stdio?: [number, number, number];
  /** runc's --pidfd-socket: receives a pidfd of the init. */
  pidfdSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** process.terminal without --console-socket: bunc receives the pty master itself (run in the foreground). */
  relayTerminal?: boolean;
}

/**
 * How bunc re-executes itself as a container's init. The compiled binary is built with every
 * autoload off; from sources (a library user's `bun`), bun is told the same: no .env and no
 * bunfig.toml from the working directory, which others may write.
 */
export function selfCommand(): { argv: string[]; execPath: string } {
  const compiled = process.argv[1]?.startsWith("/$bunfs/");
  return compiled
    ? { execPath: process.execPath, argv: ["bunc"] }
    : { execPath: process.execPath, argv: [process.execPath, "--no-env-file", "--config=/dev/null", new URL("../cli/main.ts", import.meta.url).pathname] };
}

export function loadBundle(bundleArg: string | undefined): { bundle: string; config: Config; rootfs: string } {
  const bundle = resolve(bundleArg ?? ".");
  if (!existsSync(bundle)) throw new BuncError(`bundle ${bundle} does not exist`);
  const config = readConfig(join(bundle, "config.json"));
  if (!config.process) throw new BuncError(`invalid ${join(bundle, "config.json")}: process: is required to create a container`);
  (require("./host-checks") as typeof import("./host-checks")).checkConfigForHost(config);
  const rootfs = isAbsolute(config.root!.path) ? config.root!.path : join(bundle, config.root!.path);
  let st;
  try {
    st = statSync(rootfs);
  } catch {
    throw new BuncError(`root.path: rootfs ${rootfs} does not exist`);
  }
  if (!st.isDirectory()) throw new BuncError(`root.path: rootfs ${rootfs} is not a directory`);
  return { bundle, config, rootfs };
}

/** Systemd socket activation: LISTEN_FDS are passed on like --preserve-fds. */
function listenFds(): { count: number; env: string[] } {
  const n = Number(process.env.LISTEN_FDS ?? 0);
  if (!Number.isInteger(n) || n <= 0) return { count: 0, env: [] };
  return { count: n, env: [`LISTEN_FDS=${n}`, "LISTEN_PID=1"] };
}

export function createContainer(ctx: RuntimeContext, o: CreateOptions): Container {
  const { warn, debug } = ctx.log;
  const trace = tracer(`create ${o.id}`, debug);
  const { bundle, config, rootfs } = loadBundle(o.bundle);
  const p = config.process!;
  if (p.terminal && !o.consoleSocket && !o.relayTerminal)
    throw new BuncError("process.terminal: a terminal needs --console-socket (or run in the foreground)");
  if (o.consoleSocket && !existsSync(o.consoleSocket)) throw new BuncError(`--console-socket ${o.consoleSocket} does not exist`);
  if (o.pidfdSocket && !existsSync(o.pidfdSocket)) throw new BuncError(`--pidfd-socket ${o.pidfdSocket} does not exist`);
  const caps = capSets(p.capabilities, warn); // unknown capability names are warnings, reported here once
  // Runtime spec: a capability the runtime cannot grant is a warning, not a failure. Without a
  // user namespace of its own the container gets at most what bunc's bounding set holds.
  const missing = capNames((caps.bounding | caps.effective | caps.permitted | caps.inheritable | caps.ambient) & ~ownBounding());
  if (missing.length && !config.linux.namespaces.some((n) => n.type === "user"))
    warn(`process.capabilities: ${missing.join(", ")} not granted (not in bunc's bounding set)`);
  try {
    checkSchedulingConfig(config);
    checkNetDevices(config, (path) => isHostNamespace("net", path));
    checkIdmappedMounts(config);
  } catch (e: any) {
    throw new BuncError(e.message);
  }
  const netDevices = plannedNetDevices(config);
  // Bind sources of a user-namespace container are opened here when this process may clone mounts.
  const hostCanClone = config.linux.namespaces.some((n) => n.type === "user") && process.geteuid?.() === 0 && canCloneMounts();
  if (!hasNativeInit() && usesSchedulingFields(p, config.linux))
    throw new BuncError("process.scheduler/ioPriority, linux.personality/memoryPolicy: need bunc's native init (this build has none: it was built without a C compiler)");
  const ns = planNamespaces(config);
  const outer = detectOuterContainer(); // for hints on what an outer container must allow
  if (process.geteuid?.() !== 0 && !ns.newUser && !ns.joins.some((j) => j.type === "user"))
    throw new BuncError("linux.namespaces: creating namespaces as a non-root user needs a user namespace; use a rootless config (bunc spec --rootless, bunc bundle --rootless)");
  const listen = listenFds();
  const preserveFds = (o.preserveFds ?? 0) + listen.count;
  const joins = openJoins(ns);
  const closeJoins = () => joins.forEach((j) => closeSync(j.fd));
  let dir: string | undefined;
  let pid = 0;
  let cgroups: CgroupManager | undefined;
  let parentFd = -1, childFd = -1, execFd = -1, fifoFd = -1;
  const lateCgroupFds: number[] = [], earlyCgroupFds: number[] = [];
  let cgroup2Fd = -1;
  let consolePair = [-1, -1];
  const container = () => new Container(ctx.root, dir!, state);
  const state: StoredState = {
    ociVersion: OCI_VERSION, id: o.id, pid: 0, pidStartTime: "", bundle, rootfs, created: new Date().toISOString(),
    owner: ownerName(), annotations: config.annotations, config, preserveFds, creating: true,
  };
  let unlock: (() => void) | undefined;
  let pidFileWritten = false;
  let requestFd = -1, listenerFd = -1;
  /** Host setup: fds the native init takes with the go (see take_handover in native-init.c). */
  const handover: ["r" | "t", number][] = [];
  let master: number | undefined; // process.terminal in the foreground: the pty master, for bunc's relay
  /** Host setup: the native init waits ("R"), bunc makes the rootfs, then writes the whole request. */
  const setUpHere = (pid: number, reqFd: number, request: (full?: Record<string, unknown>) => Uint8Array, listenerSlot: number) => {
    const first = readUpTo(parentFd, 1);
    if (first.length !== 1 || first[0] !== 0x52 /* R */) {
      const rest = first.length ? Buffer.concat([first, readToEnd(parentFd)]) : first;
      const f = decodeFailure(rest);
      throw new BuncError(f ? `container init failed: ${describeFailure(f)}` : `container init exited during setup${exitDescription(pid)}`);
    }
    const hs = () => container().hookState("creating");
    const setup = setUpFromHost(config, {
      trees: idmapTrees,
      pid, rootfs, bundle, cgroupPaths: state.cgroupPaths, extraEnv: listen.env, noPivot: o.noPivot, debug: trace,
      userns: ns.newUser ? {
        uidMappings: config.linux.uidMappings ?? [], gidMappings: config.linux.gidMappings ?? [],
        ownNet: config.linux.namespaces.some((n) => n.type === "network" && !n.path),
        ownIpc: config.linux.namespaces.some((n) => n.type === "ipc" && !n.path),
      } : undefined,
      runtimeHooks: () => {
        runHooks("prestart", config.hooks?.prestart, hs(), { cwd: bundle });
        runHooks("createRuntime", config.hooks?.createRuntime, hs(), { cwd: bundle });
        trace(`hooks run: ${config.hooks?.prestart?.length ?? 0} prestart, ${config.hooks?.createRuntime?.length ?? 0} createRuntime`);
      },
      // A container-namespace hook works in the container's filesystem (runc: the rootfs).
      containerHooks: () => runHooks("createContainer", config.hooks?.createContainer, hs(), { cwd: rootfs }),
    });
    const { path, env } = setup;
    applyFromOutside(pid, p);
    const initState = { ociVersion: OCI_VERSION, id: o.id, pid, bundle, annotations: config.annotations ?? {} };
    const seccompProfile = config.linux.seccomp ? compileProfile(config.linux.seccomp, debug) : undefined;
    const full = request({
      ...hookFields(config.hooks?.startContainer?.map((h) => ({ ...h, env: h.env ?? runtimeEnv() })), { ...initState, status: "created" }),
      ...schedulingFields(p, config.linux, true),
      ...processFields({
        process: p, env, execPath: path, preserveFds, seccomp: seccompProfile, setgroupsMayFail: false,
        seccompListenerSocket: listenerSlot, seccompListenerState: listenerState({ ...initState, status: "running" }, seccompProfile?.listenerMetadata),
      }),
    });
    ftruncateSync(reqFd, 0);
    writeSync(reqFd, full, 0, full.length, 0);
    return setup;
  };
  let idmapTrees: Map<number, number> | undefined;
  try {
    dir = claimStateDir(ctx.root, o.id);
    trace(`state directory ${dir} claimed`);
    // Held until create returns: `delete` waits, and once bunc is gone (killed half-way)
    // the lock is free and the record below tells `delete` what to undo.
    unlock = lockStateDir(dir);
    const cg = newCgroups(o.id, config, warn);
    state.cgroupPaths = cg.paths();
    writeStateAtomically(dir, state);
    const fifo = join(dir, FIFO);
    mkfifo(fifo, 0o622);
    // The init reopens it through its fd; in a user namespace it writes as the mapped root.
    if (ns.newUser && process.geteuid?.() === 0) chownSync(fifo, hostId(config.linux.uidMappings), hostId(config.linux.gidMappings));
    fifoFd = openSync(fifo, O.PATH | O.CLOEXEC);
    if (!createCgroups(cg, ns.newUser, outer)) {
      // Rootless without a delegated cgroup tree: no cgroup, so exec and pause must not look for one.
      state.cgroupPaths = {};
      writeStateAtomically(dir, state);
    }
    cgroups = cg; // only now is it ours to remove on failure
    trace(`cgroups made: ${describeCgroups(state.cgroupPaths ?? {})}`);
    const sock = socketPair();
    // The init's end moves to fd 3+preserveFds; keep ours and theirs above that range.
    parentFd = dupAbove(sock[0], preserveFds + 10);
    childFd = dupAbove(sock[1], preserveFds + 10);
    closeSync(sock[0]); closeSync(sock[1]);
    const self = selfCommand();
    // Where the host allows, bunc sets the rootfs up itself and the native init is all that
    // runs in the container; else bunc is re-executed as the init (from /proc/self/exe through
    // a read-only mount: the file may have been replaced).
    const fromHost = canSetUpFromHost(config, { nativeInit: hasNativeInit() });
    const native = fromHost ? openNativeInit() : undefined;
    execFd = native ?? openSelfForExec().fd;
    const initFd = 3 + preserveFds;
    for (const f of cgroups.selfJoinFiles(joinsLate)) lateCgroupFds.push(openSync(f, "w"));
    // The other hierarchies are joined by the clone itself: v1 through `tasks` fds, cgroup2 by
    // CLONE_INTO_CGROUP, before any of the init's code runs.
    for (const f of cgroups.selfJoinFiles(joinsEarly, [1])) earlyCgroupFds.push(openSync(f, "w"));
    const v2 = cgroups.cgroup2Dir(joinsEarly);
    if (v2) earlyCgroupFds.push(cgroup2Fd = openSync(v2, O.RDONLY | O.DIRECTORY));
    const relay = p.terminal && !o.consoleSocket;
    if (relay) {
      // The Bun init sends the master over this pair; with host setup bunc opens it itself.
      if (!fromHost) consolePair = socketPair();
    }
    // The console socket is connected here, on the host side: inside a user namespace the
    // init could not reach a socket in a directory only bunc's user may enter.
    else if (p.terminal) consolePair[1] = connectUnix(resolve(o.consoleSocket!));
    // Unknown syscall names are normal in shared profiles: debug-level, as in runc.
    const seccomp = config.linux.seccomp ? compileProfile(config.linux.seccomp, debug) : undefined;
    // The native init's request (host setup): written in full once the rootfs is ready.
    // The seccomp agent's socket (listenerPath) is connected here, for the native init to use after the go.
    if (fromHost && seccomp?.listenerPath) listenerFd = connectUnix(seccomp.listenerPath);
    const layout = layoutFds(initFd, { fifo: [fifoFd], cgroups: lateCgroupFds, listener: listenerFd >= 0 ? [listenerFd] : [], request: [0] });
    const request = (full?: Record<string, unknown>) => encodeRequest({
      MODE: MODES.INIT_HOST, SYNC_FD: initFd, REPORT_FD: -1, MNT_NS_FD: -1, PROC_FD_DIR: -1, FIFO_FD: layout.fifo[0],
      CGROUP_FDS: i32List(layout.cgroups), NEW_CGROUP_NS: (ns.cloneFlags & CLONE_FLAGS.cgroup) !== 0 ? 1 : 0,
      KEYRING: o.noNewKeyring ? "" : `_ses.${o.id}`, REQUEST_FD: layout.request[0], ...full,
    });
    if (fromHost) requestFd = memfd("bunc-init-request", request());
    const spawned = withOuterHint("namespaces", outer, () => spawnInit({
      cloneFlags: ns.cloneFlags & ~CLONE_FLAGS.cgroup, unshareFlags: ns.unshareFlags, timeOffsets: timeOffsetsText(config.linux.timeOffsets),
      joins, syncFd: childFd, syncTarget: initFd, setRoot: ns.newUser, execFd, cgroupJoinFds: earlyCgroupFds.filter((fd) => fd !== cgroup2Fd), cgroup2Dir: cgroup2Fd,
      passFds: fromHost ? [fifoFd, ...lateCgroupFds, ...(listenerFd >= 0 ? [listenerFd] : []), requestFd] : [fifoFd, ...lateCgroupFds, ...(p.terminal ? [consolePair[1]!] : [])],
      argv: fromHost ? ["bunc-init", String(layout.request[0])] : self.argv, env: fromHost ? [] : [`_BUNC_INIT=${initFd}`], stdio: o.stdio,
    }));
    pid = spawned.pid;
    trace(`init spawned: pid ${pid}; ${describeNamespaces(ns)}`);
    closeSync(childFd); childFd = -1;
    closeSync(execFd); execFd = -1;
    state.pid = pid;
    state.pidStartTime = readProcStat(pid)?.startTime ?? "";
    writeStateAtomically(dir, state);
    try {
      if (ns.newUser) writeIdMaps(pid, config);
      cgroups.apply(effectiveResources(config));
      if (Object.keys(netDevices).length) {
        state.netDevices = netDevices;
        writeStateAtomically(dir, state); // before the move: a killed create still moves them back
        moveInto(pid, netDevices);
      }
    } catch (e) {
      spawned.abort();
      throw e;
    }
    trace(`${ns.newUser ? `id maps written (${describeIdMaps(config)}); ` : ""}cgroup limits applied; init released`);
    spawned.release();
    if (fromHost) {
      idmapTrees = idmappedTrees(config, bundle, pid, false);
      const setup = setUpHere(pid, requestFd, request, layout.listener[0] ?? -1);
      if (setup.rootFd !== undefined) handover.push(["r", setup.rootFd]);
      if (setup.pty) {
        handover.push(["t", setup.pty.slave]);
        if (relay) master = setup.pty.master;
        else {
          try {
            sendFd(consolePair[1]!, setup.pty.master, setup.pty.name, "console socket");
          } finally {
            closeSync(setup.pty.master);
          }
        }
      }
    } else {
    const channel = new Channel(parentFd);
    const plan: InitPlan = {
      id: o.id, bundle, rootfs, config, noPivot: !!o.noPivot, hostPid: pid, preserveFds,
      ociVersion: OCI_VERSION, inUserNs: ns.newUser || ns.joins.some((j) => j.type === "user"),
      cgroupNs: ns.has("cgroup"), extraEnv: listen.env, noNewKeyring: !!o.noNewKeyring, seccomp, lateCgroups: lateCgroupFds.length, cgroupPaths: state.cgroupPaths,
      newCgroupNs: (ns.cloneFlags & CLONE_FLAGS.cgroup) !== 0, nativeInit: hasNativeInit(), runtimeEnv: runtimeEnv(), hostCanClone,
      console: p.terminal ? true : undefined, debug: !!debug, outer,
    };
    try {
      channel.send({ type: "plan", plan });
    } catch {
      // The init died before reading its plan; its last words may be on the channel.
    }
    for (;;) {
      const m = channel.recv();
      if (!m) throw new BuncError(`container init exited during setup${exitDescription(pid)}`);
      if (m.type === "error") throw new BuncError(m.message); // exit status 1, as runc's create
      if (m.type === "debug") trace(`init: ${m.message}`);
      if (m.type === "idmap") {
        idmapTrees ??= idmappedTrees(config, bundle, pid, hostCanClone);
        for (const [i, fd] of idmapTrees) sendFd(parentFd, fd, String(i), "idmapped mount");
      }
      if (m.type === "hooks") {
        const hs = container().hookState("creating");
        // Runtime-namespace hooks run in the bundle, as runc (which works from there).
        runHooks("prestart", config.hooks?.prestart, hs, { cwd: bundle });
        runHooks("createRuntime", config.hooks?.createRuntime, hs, { cwd: bundle });
        trace(`hooks run: ${config.hooks?.prestart?.length ?? 0} prestart, ${config.hooks?.createRuntime?.length ?? 0} createRuntime`);
        channel.send({ type: "continue" });
      }
      if (m.type === "ready") {
        // What the init could only fail at after `start` is applied now, from outside (as runc).
        applyFromOutside(pid, p);
        break;
      }
    }
    }
    trace(`init ready: rootfs ${rootfs} set up with ${config.mounts?.length ?? 0} mounts (${fromHost ? "by bunc, " : ""}${o.noPivot ? "MS_MOVE" : "pivot_root"})`);
    if (relay && !fromHost) master = recvFd(consolePair[0]!).fd;
    delete state.creating;
    writeStateAtomically(dir, state);
    if (o.pidFile) {
      writePidFile(o.pidFile, pid);
      pidFileWritten = true;
    }
    if (o.pidfdSocket) sendPidfd(o.pidfdSocket, pid);
    try {
      for (const [what, fd] of handover) sendFd(parentFd, fd, what, "the init's sync socket");
      writeSync(parentFd, fromHost ? "G" : JSON.stringify({ type: "created" }) + "\n");
    } catch {
      throw new BuncError(`container init exited during setup${exitDescription(pid)}`);
    }
    // The init clears its parent-death signal and joins its last cgroups, then closes its
    // end: only after that EOF may this process exit without taking the container with it.
    const failure = decodeFailure(readToEnd(parentFd));
    if (failure) throw new BuncError(`container init failed: ${describeFailure(failure)}`);
    closeSync(parentFd); parentFd = -1;
    trace(`state.json written, init in its last cgroups: container created`);
    const made = container();
    made.consoleMaster = master;
    return made;
  } catch (e: any) {
    trace(`failed: ${e?.message ?? e}; undoing`);
    if (master !== undefined) closeSync(master);
    if (pid > 0 && state.netDevices) moveBack(pid, state.netDevices, warn);
    if (pid > 0) {
      killAndReap(pid);
    }
    if (e instanceof HookError && dir) runHooksWarn("poststop", config.hooks?.poststop, { ...container().hookState("stopped") }, warn, { cwd: bundle });
    try { cgroups?.destroy(); } catch (ce: any) { warn(ce.message); }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (o.pidFile && pidFileWritten) rmSync(resolve(o.pidFile), { force: true });
    throw asBuncError(e);
  } finally {
    if (requestFd >= 0) closeSync(requestFd);
    for (const [, fd] of handover) closeSync(fd);
    if (listenerFd >= 0) closeSync(listenerFd);
    for (const fd of idmapTrees?.values() ?? []) closeSync(fd);
    unlock?.();
    closeJoins();
    for (const fd of [parentFd, childFd, execFd, fifoFd, ...lateCgroupFds, ...earlyCgroupFds, ...consolePair]) if (fd >= 0) try { closeSync(fd); } catch {}
  }
}

/** bunc's own environment: what hooks without `env` get (the init has only what bunc gave it). */
function runtimeEnv(): string[] {
  return Object.entries(process.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
}

/** process.oomScoreAdj and process.rlimits, set on the init by bunc: a value bunc may not set fails `create`, not the container after `start`. */
function applyFromOutside(pid: number, p: NonNullable<Config["process"]>): void {
  if (p.oomScoreAdj !== undefined) {
    try {
      writeFileSync(`/proc/${pid}/oom_score_adj`, String(p.oomScoreAdj));
    } catch (e: any) {
      throw new BuncError(`process.oomScoreAdj: cannot set ${p.oomScoreAdj}: ${e.code ?? e.message}${e.code === "EACCES" ? " (lowering it needs CAP_SYS_RESOURCE)" : ""}`);
    }
  }
  try {
    setRlimits(p.rlimits, pid);
  } catch (e: any) {
    throw withContext("process.rlimits", e);
  }
}

/** Compiled here, in bunc, so the init only installs it (loaded lazily: most configs have none). */
export function compileProfile(profile: NonNullable<Config["linux"]["seccomp"]>, warn?: (m: string) => void) {
  const { compileSeccomp, profileFlags } = require("../linux/seccomp") as typeof import("../linux/seccomp");
  return { program: compileSeccomp(profile, { warn }), flags: profileFlags(profile), listenerPath: profile.listenerPath, listenerMetadata: profile.listenerMetadata };
}

/**
 * The container's cgroups; a container with a user namespace of its own runs without them
 * where the tree is not writable (as rootless). False when skipped.
 */
function createCgroups(cg: CgroupManager, ownUserNs: boolean, outer: string | undefined): boolean {
  try {
    return cg.create({ optional: ownUserNs });
  } catch (e: any) {
    if (e instanceof CgroupError) throw new CgroupError(e.message + outerContainerHint("cgroups", e.code, outer), e.setting, e.code);
    throw e;
  }
}

/** Runs `fn`; a permission error it raises gets what the outer container must allow appended. */
function withOuterHint<T>(what: OuterFailure, outer: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (e: any) {
    const hint = e instanceof SyscallError ? outerContainerHint(what, e.code, outer) : "";
    if (hint) throw new BuncError(e.message + hint);
    throw e;
  }
}

/** The host id that container id 0 maps to (0 when unmapped). */
function hostId(maps: { containerID: number; hostID: number; size: number }[] = []): number {
  return toHostId(maps, 0) ?? 0;
}

function writeIdMaps(pid: number, config: Config): void {
  const write = (file: string, text: string) => {
    try {
      writeFileSync(`/proc/${pid}/${file}`, text);
    } catch (e: any) {
      throw new BuncError(`linux.${file === "uid_map" ? "uidMappings" : "gidMappings"}: cannot write ${file}: ${e.code ?? e.message}`);
    }
  };
  if (process.getuid?.() !== 0) write("setgroups", "deny");
  write("uid_map", idMapText(config.linux.uidMappings ?? []));
  write("gid_map", idMapText(config.linux.gidMappings ?? []));
}

function exitDescription(pid: number): string {
  let s: number;
  try {
    const r = waitpid(pid, WNOHANG);
    if (r.pid !== pid) return "";
    s = r.status;
  } catch {
    return "";
  }
  return (s & 0x7f) === 0 ? ` (exit status ${(s >> 8) & 0xff})` : ` (killed by signal ${s & 0x7f})`;
}

/** runc writes the pid file atomically too: engines read it as soon as create returns. */
export function writePidFile(file: string, pid: number): void {
  const abs = resolve(file);
  const tmp = join(dirname(abs), `.${basename(abs)}.tmp`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

function ownerName(): string {
  const uid = process.getuid?.() ?? 0;
  const { userName } = require("../linux/passwd") as typeof import("../linux/passwd");
  return userName(uid) ?? String(uid);
}
