// `create`, the rootfs: set up by bunc's own thread while the native init waits (host-setup.ts),
// or, where bunc cannot join the container's namespaces, by the Bun init from inside (init.ts),
// which bunc drives over the sync channel. Either way the runtime hooks run in order and
// oomScoreAdj and the rlimits are applied from outside before the go.
import type { Config } from "../spec/schema";
import { BuncError } from "../sys/errors";
import { readToEnd, readUpTo } from "../sys/io";
import { recvFd, recvMaybeFd, sendFd } from "../sys/socket";
import { decodeFailure, describeFailure } from "../sys/native-request";
import { hasNativeInit } from "../sys/native-init";
import { idmappedTrees } from "../linux/idmap";
import { CLONE_FLAGS } from "../linux/namespaces";
import { clearOnlcr } from "../linux/terminal";
import { schedulingFields } from "../linux/scheduling";
import { Channel } from "./channel";
import { runHooks } from "./hooks";
import { procMounts, setUpFromHost } from "./host-setup";
import { hookFields, listenerState, processFields } from "./native-launch";
import { OCI_VERSION } from "./state";
import { applyFromOutside, type Creation } from "./create-steps";
import type { InitPlan } from "./init";
import { closeFd, rewriteFd } from "../sys/files";

/** Host setup: the native init waits ("R"), bunc makes the rootfs, then writes the whole request. */
export function setUpByBunc(c: Creation): void {
  const { config, plan, pid } = c;
  const p = config.process!;
  // First the proc contexts the init opened in its PID namespace ("P" + fd each), then "R".
  const procContexts: number[] = [];
  let first: Uint8Array;
  for (;;) {
    const got = recvMaybeFd(c.parentFd);
    if (got.fd === undefined || procContexts.length === procMounts(config)) {
      if (got.fd !== undefined) closeFd(got.fd);
      first = got.data;
      break;
    }
    procContexts.push(got.fd);
  }
  if (first.length !== 1 || first[0] !== 0x52 /* R */) {
    for (const fd of procContexts) closeFd(fd);
    const rest = first.length ? Buffer.concat([first, readToEnd(c.parentFd)]) : first;
    const f = decodeFailure(rest);
    throw new BuncError(f ? `container init failed: ${describeFailure(f, { selinuxLabel: p.selinuxLabel, apparmorProfile: p.apparmorProfile })}` : `container init exited during setup${c.exitDescription()}`);
  }
  c.trace(`${procContexts.length} proc context(s) received from the init (its PID namespace)`);
  c.idmapTrees = idmappedTrees(config, plan.bundle, pid, false);
  const hs = () => c.container().hookState("creating");
  const setup = setUpFromHost(config, {
    trees: c.idmapTrees, procContexts,
    pid, rootfs: plan.rootfs, bundle: plan.bundle, cgroupPaths: c.state.cgroupPaths, extraEnv: plan.listenEnv, noPivot: c.o.noPivot, debug: c.trace,
    userns: plan.ns.newUser ? {
      uidMappings: config.linux.uidMappings ?? [], gidMappings: config.linux.gidMappings ?? [],
      ownNet: config.linux.namespaces.some((n) => n.type === "network" && !n.path),
      ownIpc: config.linux.namespaces.some((n) => n.type === "ipc" && !n.path),
    } : undefined,
    runtimeHooks: () => runRuntimeHooks(c, hs()),
    // A container-namespace hook works in the container's filesystem (runc: the rootfs).
    containerHooks: () => runHooks("createContainer", config.hooks?.createContainer, hs(), { cwd: plan.rootfs }),
  });
  if (setup.rootFd !== undefined) c.handover.push(["r", setup.rootFd]);
  if (setup.pty) c.handOverTerminal(setup.pty);
  applyFromOutside(pid, p);
  const initState = { ociVersion: OCI_VERSION, id: c.o.id, pid, bundle: plan.bundle, annotations: config.annotations ?? {} };
  const full = c.initRequest({
    // startContainer runs in the container: without env of its own, the process's (as runc).
    ...hookFields(config.hooks?.startContainer?.map((h) => ({ ...h, env: h.env ?? setup.env })), { ...initState, status: "created" }),
    ...schedulingFields(p, config.linux, true),
    ...processFields({
      process: p, env: setup.env, execPath: setup.path, preserveFds: plan.preserveFds, keepFds: plan.keepFds, seccomp: plan.seccomp, setgroupsMayFail: false,
      seccompListenerSocket: c.layout().listener[0] ?? -1, seccompListenerState: listenerState({ ...initState, status: "running" }, plan.seccomp?.listenerMetadata),
    }),
  });
  rewriteFd(c.requestFd, full);
  c.trace(`init ready: rootfs ${plan.rootfs} set up with ${config.mounts?.length ?? 0} mounts (by bunc, ${c.o.noPivot ? "MS_MOVE" : "pivot_root"})`);
}

/** The Bun init sets up the rootfs from inside: it gets its plan, asks for hooks and idmapped trees, says ready. */
export function setUpByBunInit(c: Creation): void {
  const { config, plan, pid } = c;
  const p = config.process!;
  const channel = new Channel(c.parentFd);
  const initPlan: InitPlan = {
    id: c.o.id, bundle: plan.bundle, rootfs: plan.rootfs, config, noPivot: !!c.o.noPivot, hostPid: pid, preserveFds: plan.preserveFds, keepFds: plan.keepFds,
    ociVersion: OCI_VERSION, inUserNs: plan.ns.newUser || plan.ns.joins.some((j) => j.type === "user"),
    cgroupNs: plan.ns.has("cgroup"), extraEnv: plan.listenEnv, noNewKeyring: !!c.o.noNewKeyring, seccomp: plan.seccomp,
    lateCgroups: c.lateCgroupFds.length, cgroupPaths: c.state.cgroupPaths,
    newCgroupNs: (plan.ns.cloneFlags & CLONE_FLAGS.cgroup) !== 0, nativeInit: hasNativeInit(), runtimeEnv: runtimeEnv(), hostCanClone: plan.hostCanClone,
    console: p.terminal ? true : undefined, debug: !!c.ctx.log.debug, outer: plan.outer,
  };
  try {
    channel.send({ type: "plan", plan: initPlan });
  } catch {
    // The init died before reading its plan; its last words may be on the channel.
  }
  for (;;) {
    const m = channel.recv();
    if (!m) throw new BuncError(`container init exited during setup${c.exitDescription()}`);
    if (m.type === "error") throw new BuncError(m.message); // exit status 1, as runc's create
    if (m.type === "debug") c.trace(`init: ${m.message}`);
    if (m.type === "idmap") {
      c.idmapTrees ??= idmappedTrees(config, plan.bundle, pid, plan.hostCanClone);
      for (const [i, fd] of c.idmapTrees) sendFd(c.parentFd, fd, String(i), "idmapped mount");
    }
    if (m.type === "hooks") {
      runRuntimeHooks(c, c.container().hookState("creating"));
      channel.send({ type: "continue" });
    }
    if (m.type === "ready") break;
  }
  // What the init could only fail at after `start` is applied from outside (as runc): the
  // rlimits only once the native init has replaced this Bun (Creation.finish), since a Bun
  // under a 1 GiB RLIMIT_AS crashes; the Bun init alone (BUNC_NATIVE_INIT=0) sets them itself.
  applyFromOutside(pid, { ...p, rlimits: undefined });
  if (plan.relay) {
    c.master = recvFd(c.consolePair[0]!).fd;
    clearOnlcr(c.master); // before start: the process has not written yet
  }
  c.trace(`init ready: rootfs ${plan.rootfs} set up with ${config.mounts?.length ?? 0} mounts (${c.o.noPivot ? "MS_MOVE" : "pivot_root"})`);
}

/** prestart and createRuntime: in the runtime namespaces, in the bundle (as runc, which works from there). */
function runRuntimeHooks(c: Creation, state: ReturnType<ReturnType<Creation["container"]>["hookState"]>): void {
  const hooks = c.config.hooks;
  runHooks("prestart", hooks?.prestart, state, { cwd: c.plan.bundle });
  runHooks("createRuntime", hooks?.createRuntime, state, { cwd: c.plan.bundle });
  c.trace(`hooks run: ${hooks?.prestart?.length ?? 0} prestart, ${hooks?.createRuntime?.length ?? 0} createRuntime`);
}

/** bunc's own environment: what hooks without `env` get (the init has only what bunc gave it). */
function runtimeEnv(): string[] {
  return Object.entries(process.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
}

