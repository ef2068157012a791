// `create`, the steps that make things, in order: the state record and its cgroups, the
// native stages cloned into the namespaces, the go once the rootfs is set up (by
// create-setup.ts). A Creation holds everything made so far, so undo() removes exactly that
// and close() releases every fd whatever happened.
import { closeStdioPipes, giveStdioPipes, openStdioPipes, type StdioPipes } from "./stdio-relay";
import { join, resolve } from "../sys/paths";
import { sharesHostMounts, unmountBelow } from "../linux/rootfs";
import { procMounts } from "./host-setup";
import { linuxSyscalls } from "../sys/syscalls";
import type { Config } from "../spec/schema";
import { BuncError, withContext } from "../sys/errors";
import { SyscallError } from "../sys/libc";
import { O } from "../sys/arch";
import { dupAbove, mkfifo, readToEnd } from "../sys/io";
import { killAndReap, waitpid, WNOHANG } from "../sys/proc";
import { spawnInit } from "../sys/nsexec";
import { memfd } from "../sys/memfd";
import { openSelfForExec } from "../sys/self-exe";
import { hasNativeInit, openNativeInit } from "../sys/native-init";
import { setRlimits } from "../linux/process";
import { clearOnlcr } from "../linux/terminal";
import { connectUnix, sendFd, sendPidfd, socketPair } from "../sys/socket";
import { decodeFailure, describeFailure, encodeRequest, i32List, layoutFds, MODES, type RequestValues } from "../sys/native-request";
import { CLONE_FLAGS, hostIdOf, idMapText, timeOffsetsText } from "../linux/namespaces";
import { moveBack, moveInto } from "../linux/net-devices";
import { CgroupError, type CgroupManager } from "../linux/cgroups";
import { outerContainerHint, type OuterFailure } from "../linux/outer-container";
import { saveFilter } from "./saved-filter";
import { claimStateDir, Container, FIFO, lockStateDir, OCI_VERSION, readProcStat, writeStateAtomically, type StoredState } from "./state";
import { HookError, runHooksWarn } from "./hooks";
import { effectiveResources, newCgroups } from "./cgroups";
import { joinsEarly, joinsLate } from "./cgroup-joins";
import { describeCgroups, describeIdMaps, describeNamespaces, type Trace } from "./trace";
import { toHostId } from "./host-setup";
import type { CreateOptions, CreatePlan } from "./create-plan";
import { keyringSearchPerm, sessionKeyringName } from "../linux/keyring";
import { userName } from "../linux/passwd";
import type { RuntimeContext } from "./context";
import { selfCommand, writePidFile } from "./self";
import { closeFd, openPath, writeFully } from "../sys/files";
import { makeNotifyDir } from "./notify-socket";
// Loaded when a profile names a seccomp agent (listenerPath) only.
const seccompInstall = () => require("../linux/seccomp/install") as typeof import("../linux/seccomp/install");
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export { selfCommand, writePidFile };

export class Creation {
  readonly state: StoredState;
  dir: string | undefined;
  pid = 0;
  /** bunc's end of the sync socket with the init. */
  parentFd = -1;
  /** The init's fd numbers: its sync socket, then the fifo, late cgroups, ... (layoutFds). */
  readonly initFd: number;
  lateCgroupFds: number[] = [];
  /** [bunc's end, the init's end] of the console: a relay pair, or the connected --console-socket. */
  consolePair = [-1, -1];
  /** Host setup: the native init's request (a memfd) and the seccomp agent's socket. */
  requestFd = -1;
  listenerFd = -1;
  /** Host setup: fds the native init takes with the go (see take_handover in native-init.c). */
  readonly handover: ["r" | "t", number][] = [];
  /** process.terminal in the foreground: the pty master, for bunc's relay. */
  master: number | undefined;
  /** run in the foreground in a user namespace without a terminal: the process's stdio pipes. */
  stdioPipes: StdioPipes | undefined;
  idmapTrees: Map<number, number> | undefined;
  private cgroups: CgroupManager | undefined;
  private unlock: (() => void) | undefined;
  private fifoFd = -1;
  private pidFileWritten = false;
  private readonly opened: number[] = [];

  constructor(readonly ctx: RuntimeContext, readonly o: CreateOptions, readonly plan: CreatePlan, readonly trace: Trace = () => {}) {
    this.initFd = 3 + plan.preserveFds;
    this.state = {
      ociVersion: OCI_VERSION, id: o.id, pid: 0, pidStartTime: "", bundle: plan.bundle, rootfs: plan.rootfs,
      created: new Date().toISOString(), owner: ownerName(), annotations: plan.config.annotations, config: plan.config,
      preserveFds: plan.preserveFds, creating: true,
      // exec joins the session keyring create made, unless there is none.
      ...(o.noNewKeyring ? { noNewKeyring: true } : {}),
    };
  }

  get config(): Config {
    return this.plan.config;
  }

  container(): Container {
    return new Container(this.ctx.root, this.dir!, this.state);
  }

  /** The id claimed (a state directory, locked), its cgroups and exec fifo made. */
  claimState(): void {
    const { config, ns, outer } = this.plan;
    const dir = (this.dir = claimStateDir(this.ctx.root, this.o.id));
    this.trace(`state directory ${dir} claimed`);
    // Held until create returns: `delete` waits, and once bunc is gone (killed half-way)
    // the lock is free and the record below tells `delete` what to undo.
    this.unlock = lockStateDir(dir);
    const cg = newCgroups(this.o.id, config, this.ctx.log.warn, this.ctx.systemdCgroup, this.ctx.log.debug);
    this.state.cgroupPaths = cg.paths();
    if (cg.systemd) this.state.systemdUnit = cg.systemd.unit;
    writeStateAtomically(dir, this.state);
    if (this.plan.notify) makeNotifyDir(dir);
    const fifo = join(dir, FIFO);
    mkfifo(fifo, 0o622);
    if (this.plan.seccomp) saveFilter(dir, this.plan.seccomp);
    // The init reopens it through its fd; in a user namespace it writes as the mapped root.
    if (ns.newUser && process.geteuid?.() === 0) nodeFs().chownSync(fifo, hostRoot(config.linux.uidMappings), hostRoot(config.linux.gidMappings));
    this.fifoFd = openPath(fifo, O.PATH | O.CLOEXEC);
    if (!createCgroups(cg, ns.newUser, outer)) {
      // Rootless without a delegated cgroup tree: no cgroup, so exec and pause must not look for one.
      this.state.cgroupPaths = {};
      writeStateAtomically(dir, this.state);
    }
    this.cgroups = cg; // only now is it ours to remove on failure
    this.trace(() => `cgroups made: ${describeCgroups(this.state.cgroupPaths ?? {})}`);
  }

  /** The native init's request for host setup; `full` once the rootfs is ready. */
  initRequest(full: RequestValues = {}): Uint8Array {
    const layout = this.layout();
    return encodeRequest({
      MODE: MODES.INIT_HOST, SYNC_FD: this.initFd, REPORT_FD: -1, MNT_NS_FD: -1, PROC_FD_DIR: -1, FIFO_FD: layout.fifo[0],
      CGROUP_FDS: i32List(layout.cgroups), NEW_CGROUP_NS: (this.plan.ns.cloneFlags & CLONE_FLAGS.cgroup) !== 0 ? 1 : 0,
      KEYRING: this.o.noNewKeyring ? "" : sessionKeyringName(this.o.id), KEYRING_PERM: keyringSearchPerm(this.plan.ns.has("user")), REQUEST_FD: layout.request[0], PROC_CONTEXTS: procMounts(this.config),
      // The keyring is joined before the rest arrives: made under the process's SELinux label.
      SELINUX_LABEL: this.config.process?.selinuxLabel ?? "", ...full,
    });
  }

  /** The fds the init is given after its sync socket, by number. */
  layout() {
    return layoutFds(this.initFd, { fifo: [this.fifoFd], cgroups: this.lateCgroupFds, listener: this.listenerFd >= 0 ? [this.listenerFd] : [], request: [0] });
  }

  /**
   * The native stages cloned into the container's namespaces and cgroups: the init, waiting
   * for its uid/gid maps, cgroup limits and network devices, then released.
   */
  spawnInit(): void {
    const { plan, config } = this;
    const { ns } = plan;
    const p = config.process!;
    const sock = socketPair();
    // The init's end moves to fd 3+preserveFds; keep ours and theirs above that range.
    this.parentFd = dupAbove(sock[0], plan.preserveFds + 10);
    const childFd = this.keep(dupAbove(sock[1], plan.preserveFds + 10));
    closeFd(sock[0]); closeFd(sock[1]);
    // Host setup: the native init is all that runs in the container. Else bunc is re-executed
    // as the init (from /proc/self/exe through a read-only mount: the file may have been replaced).
    const execFd = this.keep(plan.fromHost ? openNativeInit()! : openSelfForExec().fd);
    for (const f of this.cgroups!.selfJoinFiles(joinsLate)) this.lateCgroupFds.push(this.keep(openPath(f, O.WRONLY | O.CREAT | O.TRUNC, 0o666)));
    // The other hierarchies are joined by the clone itself: v1 through `tasks` fds, cgroup2 by
    // CLONE_INTO_CGROUP, before any of the init's code runs.
    const earlyCgroupFds = this.cgroups!.selfJoinFiles(joinsEarly, [1]).map((f) => this.keep(openPath(f, O.WRONLY | O.CREAT | O.TRUNC, 0o666)));
    const v2 = this.cgroups!.cgroup2Dir(joinsEarly);
    const cgroup2Fd = v2 ? this.keep(openPath(v2, O.RDONLY | O.DIRECTORY)) : -1;
    // The Bun init sends a foreground terminal's master over a pair; with host setup bunc opens it itself.
    if (plan.relay && !plan.fromHost) this.consolePair = socketPair();
    // The console socket is connected here, on the host side: inside a user namespace the
    // init could not reach a socket in a directory only bunc's user may enter.
    else if (p.terminal && !plan.relay) this.consolePair[1] = connectUnix(resolve(this.o.consoleSocket!));
    // Host setup: the seccomp agent's socket (listenerPath) is connected here, for the native init to use after the go.
    if (plan.fromHost && plan.seccomp?.listenerPath) this.listenerFd = seccompInstall().connectSeccompAgent(plan.seccomp.listenerPath);
    const layout = this.layout();
    if (plan.fromHost) this.requestFd = memfd("bunc-init-request", this.initRequest());
    const inUserNs = ns.newUser || ns.joins.some((j) => j.type === "user");
    // Pipes in a user namespace, and for a non-root user: its stdio is made its own (giveStdio),
    // which must not be the caller's files or terminal.
    if (this.o.relayStdio && !this.o.stdio && !p.terminal && (inUserNs || (p.user?.uid ?? 0) !== 0)) this.stdioPipes = openStdioPipes();
    const self = selfCommand();
    const spawned = withOuterHint("namespaces", plan.outer, () => spawnInit({
      cloneFlags: ns.cloneFlags & ~CLONE_FLAGS.cgroup, unshareFlags: ns.unshareFlags, timeOffsets: timeOffsetsText(config.linux.timeOffsets),
      joins: plan.joins, syncFd: childFd, syncTarget: this.initFd, keepFds: plan.keepFds, setRoot: ns.newUser, execFd, cgroupJoinFds: earlyCgroupFds, cgroup2Dir: cgroup2Fd,
      passFds: plan.fromHost
        ? [this.fifoFd, ...this.lateCgroupFds, ...(this.listenerFd >= 0 ? [this.listenerFd] : []), this.requestFd]
        : [this.fifoFd, ...this.lateCgroupFds, ...(p.terminal ? [this.consolePair[1]!] : [])],
      nativeRequestFd: plan.fromHost ? layout.request[0] : undefined,
      argv: plan.fromHost ? ["bunc-init", String(layout.request[0])] : self.argv, env: plan.fromHost ? [] : [`_BUNC_INIT=${this.initFd}`], stdio: this.o.stdio ?? this.stdioPipes?.container,
    }));
    this.pid = spawned.pid;
    this.trace(() => `init spawned: pid ${this.pid}; ${describeNamespaces(ns)}`);
    for (const fd of [childFd, execFd]) this.release(fd);
    this.state.pid = this.pid;
    this.state.pidStartTime = readProcStat(this.pid)?.startTime ?? "";
    writeStateAtomically(this.dir!, this.state);
    try {
      if (ns.newUser) writeIdMaps(this.pid, config);
      // A user namespace joined by path: nsexec made the init its root, which reopens the fifo.
      else if (ns.joins.some((j) => j.type === "user") && process.geteuid?.() === 0)
        nodeFs().chownSync(join(this.dir!, FIFO), hostIdOf(this.pid, "uid", 0) ?? 0, hostIdOf(this.pid, "gid", 0) ?? 0);
      if (this.stdioPipes) {
        giveStdioPipes(this.stdioPipes, hostIdOf(this.pid, "uid", 0) ?? 0, hostIdOf(this.pid, "gid", 0) ?? 0);
        closeStdioPipes(this.stdioPipes, "container"); // the init has its own copies
      }
      this.cgroups!.apply(effectiveResources(config), this.pid);
      if (Object.keys(plan.netDevices).length) {
        this.state.netDevices = plan.netDevices;
        writeStateAtomically(this.dir!, this.state); // before the move: a killed create still moves them back
        moveInto(this.pid, plan.netDevices);
      }
    } catch (e) {
      spawned.abort();
      throw e;
    }
    this.trace(() => `${ns.newUser ? `id maps written (${describeIdMaps(config)}); ` : ""}cgroup limits applied; init released`);
    spawned.release();
  }

  /** process.terminal with host setup: the slave goes to the init with the go, the master to the console socket or the relay. */
  handOverTerminal(pty: { master: number; slave: number; name: string }): void {
    this.handover.push(["t", pty.slave]);
    if (this.plan.relay) {
      clearOnlcr(pty.master); // before the process writes (runc's relay does the same)
      this.master = pty.master;
      return;
    }
    try {
      sendFd(this.consolePair[1]!, pty.master, pty.name, "console socket");
    } finally {
      closeFd(pty.master);
    }
  }

  /**
   * The state written without its `creating` mark, the pid file and pidfd given, and the go:
   * the init clears its parent-death signal and joins its last cgroups, then closes its end:
   * only after that EOF may this process exit without taking the container with it.
   */
  finish(): Container {
    delete this.state.creating;
    writeStateAtomically(this.dir!, this.state);
    if (this.o.pidFile) {
      writePidFile(this.o.pidFile, this.pid);
      this.pidFileWritten = true;
    }
    if (this.o.pidfdSocket) sendPidfd(this.o.pidfdSocket, this.pid);
    try {
      for (const [what, fd] of this.handover) sendFd(this.parentFd, fd, what, "the init's sync socket");
      writeFully(this.parentFd, this.plan.fromHost ? "G" : JSON.stringify({ type: "created" }) + "\n");
    } catch {
      throw new BuncError(`container init exited during setup${this.exitDescription()}`);
    }
    // "K" from the init that waits on the fifo (native or Bun); else a native failure, a Bun
    // init's error line, or nothing: an init that died without a word.
    const reply = readToEnd(this.parentFd);
    if (!(reply.length === 1 && reply[0] === 0x4b /* K */)) {
      const failure = decodeFailure(reply);
      if (failure) throw new BuncError(`container init failed: ${describeFailure(failure, { selinuxLabel: this.config.process?.selinuxLabel, apparmorProfile: this.config.process?.apparmorProfile })}`);
      const said = new TextDecoder().decode(reply).match(/"message":"((?:[^"\\]|\\.)*)"/)?.[1];
      throw new BuncError(said ? `container init failed: ${JSON.parse(`"${said}"`)}` : `container init exited during setup${this.exitDescription()}`);
    }
    // The Bun init has become the native init by now (its EOF): the rlimits can go on (create-setup.ts).
    if (!this.plan.fromHost && hasNativeInit()) applyFromOutside(this.pid, { ...this.config.process!, oomScoreAdj: undefined });
    this.trace(`state.json written, init in its last cgroups: container created`);
    const made = this.container();
    made.consoleMaster = this.master;
    made.stdioPipes = this.stdioPipes;
    this.master = this.stdioPipes = undefined; // the caller's now
    return made;
  }

  /** Everything made so far, removed (the init killed first): a failed create leaves nothing. */
  undo(e: unknown): void {
    const warn = this.ctx.log.warn;
    this.trace(`failed: ${(e as Error)?.message ?? e}; undoing`);
    if (this.pid > 0 && this.state.netDevices) moveBack(this.pid, this.state.netDevices, warn);
    if (this.pid > 0) killAndReap(this.pid);
    if (sharesHostMounts(this.config)) unmountBelow(linuxSyscalls, this.plan.rootfs);
    if (e instanceof HookError && this.dir)
      runHooksWarn("poststop", this.config.hooks?.poststop, this.container().hookState("stopped"), warn, { cwd: this.plan.bundle });
    try {
      this.cgroups?.destroy();
    } catch (ce: any) {
      warn(ce.message);
    }
    if (this.dir) nodeFs().rmSync(this.dir, { recursive: true, force: true });
    if (this.o.pidFile && this.pidFileWritten) nodeFs().rmSync(resolve(this.o.pidFile), { force: true });
  }

  /** Every fd released and the lock let go, whether create succeeded or not. */
  close(): void {
    const fds = [this.parentFd, this.fifoFd, this.requestFd, this.listenerFd, this.master ?? -1, ...this.consolePair, ...this.opened,
      ...this.handover.map(([, fd]) => fd), ...(this.idmapTrees?.values() ?? [])];
    for (const fd of fds) if (fd >= 0) try { closeFd(fd); } catch {}
    if (this.stdioPipes) closeStdioPipes(this.stdioPipes, "all");
    this.unlock?.();
    this.plan.close();
  }

  /** How the init ended, when it did (for "exited during setup"). */
  exitDescription(): string {
    try {
      const r = waitpid(this.pid, WNOHANG);
      if (r.pid !== this.pid) return "";
      const s = r.status;
      return (s & 0x7f) === 0 ? ` (exit status ${(s >> 8) & 0xff})` : ` (killed by signal ${s & 0x7f})`;
    } catch {
      return "";
    }
  }

  private keep(fd: number): number {
    this.opened.push(fd);
    return fd;
  }

  private release(fd: number): void {
    const i = this.opened.indexOf(fd);
    if (i >= 0) this.opened.splice(i, 1);
    closeFd(fd);
  }
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
function hostRoot(maps: { containerID: number; hostID: number; size: number }[] = []): number {
  return toHostId(maps, 0) ?? 0;
}

function writeIdMaps(pid: number, config: Config): void {
  const write = (file: string, text: string) => {
    try {
      nodeFs().writeFileSync(`/proc/${pid}/${file}`, text);
    } catch (e: any) {
      throw new BuncError(`linux.${file === "uid_map" ? "uidMappings" : "gidMappings"}: cannot write ${file}: ${e.code ?? e.message}`);
    }
  };
  if (process.getuid?.() !== 0) write("setgroups", "deny");
  write("uid_map", idMapText(config.linux.uidMappings ?? []));
  write("gid_map", idMapText(config.linux.gidMappings ?? []));
}

function ownerName(): string {
  const uid = process.getuid?.() ?? 0;
  return userName(uid) ?? String(uid);
}

/** process.oomScoreAdj and process.rlimits, set on the init by bunc: a value bunc may not set fails `create`, not the container after `start`. */
export function applyFromOutside(pid: number, p: NonNullable<Config["process"]>): void {
  if (p.oomScoreAdj !== undefined) {
    try {
      nodeFs().writeFileSync(`/proc/${pid}/oom_score_adj`, String(p.oomScoreAdj));
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
