// `exec`: a new process in a running container. nsexec joins the container's
// namespaces (user first; the mount namespace is joined by the process itself, see
// runExecInit), the process joins its cgroups, gets process.* of the config or of
// --process, and its exit status becomes ours unless detached.
import { readToEnd } from "../sys/io";
import { inheritedFds } from "../sys/inherited-fds";
import { requireKernel } from "../linux/kernel";
import { namedErrnos } from "../sys/errno";
import { normalize, resolve } from "../sys/paths";
import type { Process } from "../spec/schema";
import { O } from "../sys/arch";
import { killAndReap } from "../sys/proc";
import { spawnInit } from "../sys/nsexec";
import { memfd } from "../sys/memfd";
import { CLONE_FLAGS, hostIdOf, PROC_NS_NAME } from "../linux/namespaces";
import { asBuncError, BuncError } from "../sys/errors";
import { containerMembers, joinsEarly, joinsLate } from "./cgroup-joins";
import { cgroup2DirOf, joinFilesOf, memberControllers } from "../linux/cgroups/membership";
import { loadContainer, type Container } from "./state";
import { savedFilter } from "./saved-filter";
import { allows, requireStatus } from "./status";
import { selfCommand, writePidFile } from "./self";
import { forwardSignals, waitChild, type SignalForwarder } from "./wait";
import type { ExecPlan } from "./init";
import { openNativeInit } from "../sys/native-init";
import { connectUnix, recvFd, sendFd, sendPidfd, socketPair } from "../sys/socket";
import type { Pty } from "../linux/terminal";
import { decodeFailure, describeFailure, encodeRequest, i32List, isFreezingMark, layoutFds, MODES } from "../sys/native-request";
export { layoutFds };
import { listenerState, processFields } from "./native-launch";
import { withHome } from "../linux/passwd";
import { validateApparmorProfile, validateSelinuxLabel } from "../linux/lsm";
import { execKeyringName } from "../linux/keyring";
import { openInRoot } from "../sys/openat2";
import { checkSchedulingConfig, schedulingFields, usesSchedulingFields, withInitialAffinity } from "../linux/scheduling";
import { describeCgroups, tracer } from "./trace";
import type { RuntimeContext } from "./context";
import type { StdioPipes } from "./stdio-relay";
import { closeFd, openPath, pathExists, readText, writeFully } from "../sys/files";
// Loaded when a profile names a seccomp agent (listenerPath) only.
const seccompInstall = () => require("../linux/seccomp/install") as typeof import("../linux/seccomp/install");
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");
// Loaded by the paths that use them (a terminal, the Bun init without a native one): an exec
// of a plain command loads ~40 modules, and each costs it time and heap.
const terminalLib = () => require("../linux/terminal") as typeof import("../linux/terminal");
const ttyRelay = () => require("./tty-relay") as typeof import("./tty-relay");
const stdioRelay = () => require("./stdio-relay") as typeof import("./stdio-relay");

export interface ExecOptions {
  id: string;
  process: Process;
  /** The process's stdin, stdout and stderr (fds); default: this process's own. */
  stdio?: [number, number, number];
  /** runc's --cgroup: "[controller:]path" of an existing sub-cgroup of the container's (repeatable). */
  cgroup?: string[];
  /** runc's --ignore-paused: exec into a frozen container (the process starts frozen). */
  ignorePaused?: boolean;
  detach?: boolean;
  pidFile?: string;
  preserveFds?: number;
  consoleSocket?: string;
  /** runc's --pidfd-socket: receives a pidfd of the new process. */
  pidfdSocket?: string;
  /** In the foreground: without a terminal, in a user namespace, the process's stdio are pipes bunc copies (stdio-relay.ts). */
  relayStdio?: boolean;
}

function nsexecMessage(bytes: Uint8Array): string {
  const text = namedErrnos(new TextDecoder().decode(bytes).trim());
  try {
    return JSON.parse(text.split("\n")[0]!).message ?? text;
  } catch {
    return text;
  }
}

/**
 * --cgroup values -> sub-cgroup per controller ("" for every hierarchy); ".." may not leave the
 * container's cgroup. As runc: a controller must be one of the container's (`known`), named
 * once, and a path without one is the only --cgroup.
 */
export function subCgroups(values: string[] = [], known: string[] = []): Record<string, string> | undefined {
  if (!values.length) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const colon = v.indexOf(":");
    if (colon < 0 && values.length > 1) throw new BuncError(`--cgroup ${v}: missing <controller>: prefix (needed when --cgroup is given more than once)`);
    const [controllers, path] = colon < 0 ? [[""], v] : [v.slice(0, colon).split(","), v.slice(colon + 1)];
    const norm = normalize("/" + path).replace(/^\/+/, "");
    if (path.split("/").includes("..") || norm.startsWith("..")) throw new BuncError(`--cgroup ${v}: ${path} is not a sub cgroup path`);
    for (const c of controllers) {
      if (colon >= 0 && !c) throw new BuncError(`--cgroup ${v}: empty controller`);
      if (c && !known.includes(c)) throw new BuncError(`--cgroup ${v}: unknown controller ${c} (the container's: ${known.join(", ") || "none"})`);
      if (Object.hasOwn(out, c)) throw new BuncError(`--cgroup ${v}: controller ${c} given more than once`);
      out[c] = norm;
    }
  }
  return out;
}


/** The container's /etc/passwd, read through its root without leaving it (openat2 RESOLVE_IN_ROOT). */
function containerPasswd(pid: number): string | undefined {
  let root = -1, file = -1;
  try {
    root = openPath(`/proc/${pid}/root`, O.PATH | O.DIRECTORY | O.CLOEXEC);
    file = openInRoot(root, "etc/passwd", O.RDONLY | O.CLOEXEC);
    return readText(file);
  } catch {
    return undefined;
  } finally {
    if (file >= 0) closeFd(file);
    if (root >= 0) closeFd(root);
  }
}

function setgroupsDeniedIn(pid: number): boolean {
  try {
    return readText(`/proc/${pid}/setgroups`).trim() === "deny";
  } catch {
    return false;
  }
}

/** Starts the process; returns its pid once execve succeeded. `loaded`: the container, when the caller has just read it. */
export function spawnExec(ctx: RuntimeContext, o: ExecOptions, loaded?: Container): { pid: number; container: Container; consoleMaster?: number; stdioPipes?: StdioPipes } {
  const trace = tracer(`exec ${o.id}`, ctx.log.debug);
  const keepFds = inheritedFds(o.preserveFds ?? 0); // before this opens any
  requireKernel();
  const c = loaded ?? loadContainer(ctx.root, o.id);
  const op = o.ignorePaused ? "exec --ignore-paused" : "exec";
  const status = requireStatus(c, op);
  if (o.process.terminal && o.detach && !o.consoleSocket) throw new BuncError("exec --tty --detach needs --console-socket");
  if (o.consoleSocket && !pathExists(o.consoleSocket)) throw new BuncError(`--console-socket ${o.consoleSocket} does not exist`);
  const config = c.state.config;
  // As runc: the process gets the container's AppArmor profile and SELinux label unless it
  // has its own (exec --apparmor / --process-label, or --process); one that is not loaded,
  // or a label on a host without SELinux, fails here.
  if (!o.process.apparmorProfile && config.process?.apparmorProfile) o = { ...o, process: { ...o.process, apparmorProfile: config.process.apparmorProfile } };
  if (!o.process.selinuxLabel && config.process?.selinuxLabel) o = { ...o, process: { ...o.process, selinuxLabel: config.process.selinuxLabel } };
  validateApparmorProfile(o.process.apparmorProfile);
  validateSelinuxLabel(o.process.selinuxLabel);
  const opened: number[] = [];
  const keep = (fd: number) => (opened.push(fd), fd);
  const open = (p: string, flags: number = O.RDONLY) => keep(openPath(p, flags));
  let parentFd = -1, consoleOurs = -1;
  let consoleMaster: number | undefined;
  let pipes: StdioPipes | undefined;
  let pid = 0;
  try {
    // The namespaces of the running init: the user namespace first, the mount namespace last (by the process).
    const types = config.linux.namespaces.map((n) => n.type).sort((a, b) => Number(b === "user") - Number(a === "user"));
    const joins = types.filter((t) => t !== "mount").map((t) => ({ fd: open(`/proc/${c.pid}/ns/${PROC_NS_NAME[t]}`), nstype: CLONE_FLAGS[t], path: t }));
    const mntFd = open(`/proc/${c.pid}/ns/mnt`);
    // The init may have exited before its namespaces were opened (its pid and start time say so).
    if (!allows(op, c.status())) throw new BuncError("container stopped while exec was starting");
    const cg = containerMembers(c.state) ?? [];
    // Paused: the frozen cgroups (the freezer, or cgroup2 itself) are joined last, by the native init.
    const frozen = status === "paused";
    const notFreezer = (cs: string[]) => !frozen || !cs.includes("freezer");
    const sub = subCgroups(o.cgroup, memberControllers(cg));
    const late = joinFilesOf(cg, (cs) => joinsLate(cs) && notFreezer(cs), frozen ? [1] : [1, 2], sub).map((f) => open(f, O.WRONLY));
    const early = joinFilesOf(cg, (cs) => joinsEarly(cs) && notFreezer(cs), [1], sub).map((f) => open(f, O.WRONLY));
    const frozenFds = frozen ? [...joinFilesOf(cg, (cs) => cs.includes("freezer"), [1], sub), ...joinFilesOf(cg, () => true, [2], sub)].map((f) => open(f, O.WRONLY)) : [];
    const v2 = frozen ? undefined : cgroup2DirOf(cg, joinsEarly, sub);
    const cgroup2Dir = v2 ? open(v2, O.RDONLY | O.DIRECTORY) : -1;
    const sock = socketPair();
    parentFd = sock[0]!;
    opened.push(sock[1]!);
    const relay = o.process.terminal && !o.consoleSocket;
    // As run's (create-steps.ts): pipes in a user namespace and for a non-root user.
    if (o.relayStdio && !o.process.terminal && !o.stdio && (joins.some((j) => j.path === "user") || (o.process.user?.uid ?? 0) !== 0)) {
      pipes = stdioRelay().openStdioPipes();
      stdioRelay().giveStdioPipes(pipes, hostIdOf(c.pid, "uid", 0) ?? 0, hostIdOf(c.pid, "gid", 0) ?? 0);
    }
    const stdio = o.stdio ?? pipes?.container;
    // A terminal is opened by bunc (a pty in the container's devpts, through its root) and
    // taken by the native init; a non-root bunc may not give the pty to the process's user,
    // so there the Bun exec init does it inside the container.
    const native = o.process.terminal && process.geteuid?.() !== 0 ? undefined : openNativeInit();
    let consolePair = [-1, -1];
    let pty: Pty | undefined;
    if (native !== undefined && o.process.terminal) {
      pty = openContainerPty(c.pid, o.process);
      keep(pty.slave);
      if (relay) {
        terminalLib().clearOnlcr(pty.master); // "\n" as runc's relay gives it, before the process runs
        consoleMaster = pty.master;
      } else {
        const sock = keep(connectUnix(resolve(o.consoleSocket!)));
        try {
          sendFd(sock, pty.master, pty.name, "console socket");
        } finally {
          closeFd(pty.master);
        }
      }
    } else if (relay) {
      consolePair = socketPair();
      opened.push(consolePair[1]!);
      consoleOurs = consolePair[0]!;
    } else if (o.process.terminal) {
      // Connected on the host side (see create).
      consolePair[1] = keep(connectUnix(resolve(o.consoleSocket!)));
    }
    const preserveFds = o.preserveFds ?? 0;
    // The filter create compiled (saved-filter.ts); the compiler, create's code, only for a container made without one.
    const profile = config.linux.seccomp;
    const seccomp = profile ? savedFilter(c.dir, profile) ?? (require("./create-plan") as typeof import("./create-plan")).compileProfile(profile, ctx.log.debug) : undefined;
    try {
      checkSchedulingConfig({ ...config, process: o.process });
    } catch (e: any) {
      throw new BuncError(e.message);
    }
    if (native === undefined && frozen) throw new BuncError("exec --ignore-paused: needs bunc's native init (not with --tty as non-root)");
    if (native === undefined && usesSchedulingFields(o.process, config.linux))
      throw new BuncError("process.scheduler/ioPriority/execCPUAffinity, linux.personality/memoryPolicy: need bunc's native init (not with exec --tty as non-root, nor in a build without a C compiler)");
    if (native !== undefined) {
      keep(native);
      const target = 3 + preserveFds;
      // The native init's fds: the report socket at target, then these in order.
      const listener = seccomp?.listenerPath ? keep(seccompInstall().connectSeccompAgent(seccomp.listenerPath)) : -1;
      const layout = layoutFds(target, { mnt: [mntFd], cgroups: late, frozen: frozenFds, listener: listener >= 0 ? [listener] : [], terminal: pty ? [pty.slave] : [], request: [0] });
      // Written once the process's pid is known (the agent's state names it); stage 2 waits for it.
      const request = keep(memfd("bunc-exec-request", new Uint8Array()));
      const encode = (ownPid: number) => encodeRequest({
        MODE: MODES.EXEC, REPORT_FD: target, MNT_NS_FD: layout.mnt[0], PROC_FD_DIR: -1, FIFO_FD: -1,
        CGROUP_FDS: i32List(layout.cgroups), FROZEN_CGROUP_FDS: i32List(layout.frozen), TERMINAL_FD: layout.terminal[0] ?? 0,
        // The container's session keyring (as runc), made under the process's SELinux label.
        KEYRING: execKeyringName(c.state),
        ...schedulingFields(o.process, config.linux, false),
        ...processFields({
          process: o.process, env: withHome(o.process.env, o.process.user?.uid ?? 0, () => containerPasswd(c.pid) ?? ""), preserveFds, keepFds, seccomp,
          seccompListenerSocket: layout.listener[0] ?? -1, seccompListenerState: listenerState({ ...c.hookState("running"), pid: ownPid }, seccomp?.listenerMetadata),
          setgroupsMayFail: setgroupsDeniedIn(c.pid),
        }),
      });
      const spawned = withInitialAffinity(o.process.execCPUAffinity?.initial, () => spawnInit({
        cloneFlags: 0, unshareFlags: 0, joins, cgroupJoinFds: early, cgroup2Dir, syncFd: sock[1]!, syncTarget: target, keepFds, setRoot: false,
        execFd: native, passFds: [mntFd, ...late, ...frozenFds, ...(listener >= 0 ? [listener] : []), ...(pty ? [pty.slave] : []), request], nativeRequestFd: layout.request[0], argv: ["bunc-init", String(layout.request[0])], env: [], stdio,
      }));
      pid = spawned.pid;
      writeFully(request, encode(pid));
      spawned.release();
      if (pipes) stdioRelay().closeStdioPipes(pipes, "container");
      for (const fd of opened.splice(0)) closeFd(fd);
      trace(() => `process spawned: pid ${pid}; joined namespaces ${joins.map((j) => j.path).join(",")} of init ${c.pid} (mount by the native init); cgroups ${describeCgroups(c.state.cgroupPaths)}`);
      // EOF: execve succeeded (the socket is close-on-exec); otherwise (step, errno).
      const reply = readToEnd(parentFd, isFreezingMark);
      const failure = decodeFailure(reply);
      if (failure) throw new BuncError(`exec failed: ${describeFailure(failure, { program: o.process.args[0], cwd: o.process.cwd, apparmorProfile: o.process.apparmorProfile, selinuxLabel: o.process.selinuxLabel, cpusetCpus: config.linux.resources?.cpu?.cpus })}`);
      // nsexec's own stage reports in JSON (e.g. it could not join a cgroup).
      if (reply.length && !isFreezingMark(reply)) throw new BuncError(`exec failed: ${nsexecMessage(reply)}`);
      trace(`execve of ${o.process.args[0]} done`);
      if (o.pidFile) writePidFile(o.pidFile, pid);
      if (o.pidfdSocket) sendPidfd(o.pidfdSocket, pid);
      const master = consoleMaster, ours = pipes;
      consoleMaster = pipes = undefined; // the caller's now
      return { pid, container: c, consoleMaster: master, stdioPipes: ours };
    }
    const self = selfCommand();
    const spawned = spawnInit({
      cloneFlags: 0, unshareFlags: 0, joins, cgroupJoinFds: early, cgroup2Dir, syncFd: sock[1]!, syncTarget: 3 + preserveFds, keepFds, setRoot: false,
      execFd: keep((require("../sys/self-exe") as typeof import("../sys/self-exe")).openSelfForExec().fd), passFds: [mntFd, ...late, ...(o.process.terminal ? [consolePair[1]!] : [])], argv: self.argv, env: [`_BUNC_INIT=${3 + preserveFds}`], stdio,
    });
    pid = spawned.pid;
    if (pipes) stdioRelay().closeStdioPipes(pipes, "container");
    trace(() => `process spawned: pid ${pid}; joined namespaces ${joins.map((j) => j.path).join(",")} of init ${c.pid} (mount by the process); cgroups ${describeCgroups(c.state.cgroupPaths)}`);
    spawned.release();
    for (const fd of opened.splice(0)) closeFd(fd);
    const { Channel } = require("./channel") as typeof import("./channel");
    const channel = new Channel(parentFd);
    const plan: ExecPlan = {
      // The instructions (JSON), not the saved filter's bytes.
      kind: "exec", process: o.process, lateCgroups: late.length, preserveFds, keepFds, seccomp: seccomp && { ...seccomp, encoded: undefined },
      state: c.hookState("running"),
      console: o.process.terminal ? true : undefined, keyring: execKeyringName(c.state),
    };
    try {
      channel.send({ type: "plan", plan });
    } catch {}
    const m = channel.recv(); // EOF: execve succeeded and closed the socket
    if (m?.type === "error") throw new BuncError(`exec failed: ${m.message}`);
    trace(`execve of ${o.process.args[0]} done`);
    const master = consoleOurs >= 0 ? recvFd(consoleOurs).fd : undefined;
    // The Bun exec init (non-root) ran the process before the master arrived: its first output may keep "\r\n".
    if (master !== undefined) terminalLib().clearOnlcr(master);
    if (o.pidFile) writePidFile(o.pidFile, pid);
    if (o.pidfdSocket) sendPidfd(o.pidfdSocket, pid);
    const ours = pipes;
    pipes = undefined; // the caller's now
    return { pid, container: c, consoleMaster: master, stdioPipes: ours };
  } catch (e: any) {
    if (pid > 0) {
      killAndReap(pid);
    }
    throw asBuncError(e);
  } finally {
    for (const fd of opened) try { closeFd(fd); } catch {}
    if (parentFd >= 0) closeFd(parentFd);
    if (consoleOurs >= 0) closeFd(consoleOurs);
    if (consoleMaster !== undefined) closeFd(consoleMaster);
    if (pipes) stdioRelay().closeStdioPipes(pipes, "all");
  }
}

/** A pty for an exec'd process, from the container's devpts; the slave belongs to its user. */
function openContainerPty(initPid: number, p: Process): Pty {
  const root = openPath(`/proc/${initPid}/root`, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    const pty = terminalLib().openPtyInRoot(root, p.consoleSize);
    try {
      // The process's own terminal, as a login's (runc); its uid as the host sees it (in a
      // user namespace of the container's that is so for root too: the host's root is nobody there).
      const uid = hostUid(initPid, p.user?.uid ?? 0);
      if (uid !== 0) nodeFs().fchownSync(pty.slave, uid, -1);
      return pty;
    } catch (e) {
      closeFd(pty.master);
      closeFd(pty.slave);
      throw e;
    }
  } finally {
    closeFd(root);
  }
}

/** Container uid -> host uid through the init's uid_map. */
function hostUid(initPid: number, uid: number): number {
  const host = hostIdOf(initPid, "uid", uid);
  if (host === undefined) throw new BuncError(`process.user.uid ${uid} is not mapped in the container's user namespace`);
  return host;
}

export async function execInContainer(ctx: RuntimeContext, o: ExecOptions, loaded?: Container): Promise<number> {
  if (o.detach) {
    spawnExec(ctx, { ...o, relayStdio: false }, loaded);
    return 0;
  }
  // Before the process exists: what comes while it starts waits for it (wait.ts).
  const forwarder = forwardSignals();
  try {
    return await execForwarding(ctx, o, loaded, forwarder);
  } finally {
    forwarder.stop();
  }
}

async function execForwarding(ctx: RuntimeContext, o: ExecOptions, loaded: Container | undefined, forwarder: SignalForwarder): Promise<number> {
  const { pid, consoleMaster, stdioPipes } = spawnExec(ctx, { ...o, relayStdio: true }, loaded);
  const relay = consoleMaster !== undefined ? ttyRelay().relayTerminal(consoleMaster) : undefined;
  const piped = stdioPipes ? stdioRelay().relayStdio(stdioPipes) : undefined;
  forwarder.to(pid, !!relay);
  const code = await waitChild(pid);
  forwarder.ended();
  if (relay) {
    await Promise.race([relay.done, Bun.sleep(500)]);
    relay.stop();
  }
  // Until every writer is gone, as runc's copy: a child left running with the output open keeps it.
  if (piped) {
    await piped.done;
    piped.stop();
  }
  return code;
}
