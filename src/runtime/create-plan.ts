// `create`, step 1: everything decided before anything is made. The bundle and config are
// read and checked, warnings given once, the namespaces planned and the seccomp profile
// compiled; nothing is left behind when this throws (only the joined namespaces are open).
import { inheritedFds } from "../sys/inherited-fds";
import { isAbsolute, join, resolve } from "../sys/paths";
import { readConfig } from "../spec/parse";
import type { Config } from "../spec/schema";
import { BuncError } from "../sys/errors";
import { hasNativeInit } from "../sys/native-init";
import { canCloneMounts, checkIdmappedMounts } from "../linux/idmap";
import { openJoins, planNamespaces, type NamespacePlan } from "../linux/namespaces";
import { capNames, capSets, ownBounding } from "../linux/capabilities";
import { checkSchedulingConfig, usesSchedulingFields } from "../linux/scheduling";
import { checkNetDevices, plannedNetDevices, type NetDevices } from "../linux/net-devices";
import { isHostNamespace } from "../linux/sysctl";
import { detectOuterContainer } from "../linux/outer-container";
import { whyNotFromHost } from "./host-setup";
import { checkConfigForHost } from "./host-checks";
import { requireKernel } from "../linux/kernel";
import type { RuntimeContext } from "./context";
import type { Seccomp } from "../linux/seccomp/install";
import { closeFd, pathExists, statPath } from "../sys/files";
import { notifyMount, NOTIFY_ENV } from "./notify-socket";
import { stateDir } from "./state";

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
  /** run in the foreground: without a terminal, in a user namespace, the process's stdio are pipes bunc copies (stdio-relay.ts). */
  relayStdio?: boolean;
  /**
   * The caller's sd_notify socket (runc reads NOTIFY_SOCKET; the CLI passes it from its
   * environment, a library caller when it wants it): the container gets /run/notify (notify-socket.ts).
   */
  notifySocket?: string;
}

export interface CreatePlan {
  bundle: string;
  config: Config;
  rootfs: string;
  ns: NamespacePlan;
  /** The namespaces joined by `path`, opened now (closed by close()). */
  joins: ReturnType<typeof openJoins>;
  netDevices: NetDevices;
  /** A user-namespace container's bind sources are cloned here, when this process may clone mounts. */
  hostCanClone: boolean;
  /** What an outer container must allow, for hints on permission errors. */
  outer: string | undefined;
  /** Systemd socket activation: LISTEN_FDS passed on like --preserve-fds. */
  listenEnv: string[];
  /** NOTIFY_SOCKET was set: the state gets a notify directory, shown at /run/notify. */
  notify: boolean;
  preserveFds: number;
  /** Of 3..3+preserveFds-1, the fds the caller had open: only these reach the container. */
  keepFds: number[];
  seccomp: Seccomp | undefined;
  /** bunc's own thread sets the rootfs up (else the Bun init does, from inside). */
  fromHost: boolean;
  /** Why not (for --debug). */
  whyNotFromHost: string | undefined;
  /** process.terminal without a console socket: bunc keeps the pty master (run in the foreground). */
  relay: boolean;
  close(): void;
}

export function loadBundle(bundleArg: string | undefined): { bundle: string; config: Config; rootfs: string } {
  const bundle = resolve(bundleArg ?? ".");
  if (!pathExists(bundle)) throw new BuncError(`bundle ${bundle} does not exist`);
  const config = readConfig(join(bundle, "config.json"));
  if (!config.process) throw new BuncError(`invalid ${join(bundle, "config.json")}: process: is required to create a container`);
  checkConfigForHost(config);
  const rootfs = isAbsolute(config.root!.path) ? config.root!.path : join(bundle, config.root!.path);
  let st;
  try {
    st = statPath(rootfs)!;
  } catch {
    throw new BuncError(`root.path: rootfs ${rootfs} does not exist`);
  }
  if (!st.isDirectory()) throw new BuncError(`root.path: rootfs ${rootfs} is not a directory`);
  return { bundle, config, rootfs };
}

export function planCreate(ctx: RuntimeContext, o: CreateOptions): CreatePlan {
  const { warn, debug } = ctx.log;
  requireKernel();
  const { bundle, config, rootfs } = loadBundle(o.bundle);
  const p = config.process!;
  if (p.terminal && !o.consoleSocket && !o.relayTerminal)
    throw new BuncError("process.terminal: cannot allocate a terminal for a detached container: use --console-socket (or run in the foreground)");
  if (o.consoleSocket && !pathExists(o.consoleSocket)) throw new BuncError(`--console-socket ${o.consoleSocket} does not exist`);
  if (o.pidfdSocket && !pathExists(o.pidfdSocket)) throw new BuncError(`--pidfd-socket ${o.pidfdSocket} does not exist`);
  const caps = capSets(p.capabilities, warn); // unknown capability names are warnings, reported here once
  // Runtime spec: a capability the runtime cannot grant is a warning, not a failure. Without a
  // user namespace of its own the container gets at most what bunc's bounding set holds.
  const missing = capNames((caps.bounding | caps.effective | caps.permitted | caps.inheritable | caps.ambient) & ~ownBounding());
  if (missing.length && !config.linux.namespaces.some((n) => n.type === "user"))
    warn(`process.capabilities: ${missing.join(", ")} not granted (not in bunc's bounding set)`);
  try {
    checkSchedulingConfig(config);
    checkNetDevices(config, (path) => isHostNamespace("network", path));
    checkIdmappedMounts(config);
  } catch (e: any) {
    throw new BuncError(e.message);
  }
  if (!hasNativeInit() && usesSchedulingFields(p, config.linux))
    throw new BuncError("process.scheduler/ioPriority, linux.personality/memoryPolicy: need bunc's native init (this build has none: it was built without a C compiler)");
  const ns = planNamespaces(config);
  if (process.geteuid?.() !== 0 && !ns.newUser && !ns.joins.some((j) => j.type === "user"))
    throw new BuncError("linux.namespaces: creating namespaces as a non-root user needs a user namespace; use a rootless config (bunc spec --rootless, bunc bundle --rootless)");
  const listen = listenFds();
  // sd_notify through the container (notify-socket.ts): its directory is made once the state's is claimed.
  const notify = !!o.notifySocket;
  if (notify) {
    // Into the config, as runc's setupSpec: saved with the state, so exec's processes have it too.
    config.mounts.push(notifyMount(stateDir(ctx.root, o.id)));
    p.env = [...(p.env ?? []), NOTIFY_ENV];
  }
  // Unknown syscall names are normal in shared profiles: debug-level, as in runc.
  const seccomp = config.linux.seccomp ? compileProfile(config.linux.seccomp, debug) : undefined;
  const decided = {
    bundle, config, rootfs, ns, seccomp, listenEnv: listen.env, notify,
    netDevices: plannedNetDevices(config),
    hostCanClone: config.linux.namespaces.some((n) => n.type === "user") && process.geteuid?.() === 0 && canCloneMounts(),
    outer: detectOuterContainer(),
    preserveFds: (o.preserveFds ?? 0) + listen.count,
    keepFds: inheritedFds((o.preserveFds ?? 0) + listen.count),
    ...setupPath(config),
    relay: !!p.terminal && !o.consoleSocket,
  };
  // Last: the one thing here that needs closing.
  const joins = openJoins(ns);
  return { ...decided, joins, close: () => joins.forEach((j) => closeFd(j.fd)) };
}

function setupPath(config: Config): { fromHost: boolean; whyNotFromHost: string | undefined } {
  const why = whyNotFromHost(config, { nativeInit: hasNativeInit() });
  return { fromHost: why === undefined, whyNotFromHost: why };
}

/** Systemd socket activation: LISTEN_FDS are passed on like --preserve-fds. */
function listenFds(): { count: number; env: string[] } {
  const n = Number(process.env.LISTEN_FDS ?? 0);
  if (!Number.isInteger(n) || n <= 0) return { count: 0, env: [] };
  return { count: n, env: [`LISTEN_FDS=${n}`, "LISTEN_PID=1"] };
}

/** Compiled here, in bunc, so the init only installs it (loaded lazily: most configs have none). */
export function compileProfile(profile: NonNullable<Config["linux"]["seccomp"]>, warn?: (m: string) => void): Seccomp {
  const { compileSeccomp, profileFlags } = require("../linux/seccomp") as typeof import("../linux/seccomp");
  return { program: compileSeccomp(profile, { warn }), flags: profileFlags(profile), listenerPath: profile.listenerPath, listenerMetadata: profile.listenerMetadata };
}
