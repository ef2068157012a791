// The rootfs set up by bunc's own main thread, so that no second Bun starts for a create:
// the thread gets an fs struct of its own (unshare(CLONE_FS)), joins the container's mount,
// network, IPC, UTS and cgroup namespaces (a thread may, even in a multithreaded process),
// mounts, builds /dev, masks paths and pivot_roots — moving the waiting native init's root
// with it — then comes back. proc takes the PID namespace of whoever opens its context, so
// the native init opens one inside the container's and hands it over; this thread configures
// and mounts it (Linux 5.2+); sysfs, mqueue and cgroup2 take the namespaces the thread joined. A terminal is opened here from the container's devpts and handed to the
// native init with the go. In a user namespace of the container's own, what the thread makes
// belongs to the container's root (fsuid), and uid=/gid= mount options are its ids.
import type { Config } from "../spec/schema";
import { SyscallError } from "../sys/libc";
import { setnsMount } from "../linux/namespaces";
import { O } from "../sys/arch";
import { FSCONFIG, fsconfig, fsmount } from "../sys/mount-api";
import { raiseEffectiveCaps, setFsIds } from "../sys/creds";
import { LinuxSyscalls } from "../sys/syscalls";
import { remount, type MountContext } from "../linux/mounts";
import { effectiveMountLabel } from "../linux/lsm";
import { applyRootPropagation, maskPaths, mountAll, moveRoot, pivotRoot, prepareRoot, readonlyPaths } from "../linux/rootfs";
import { bindConsole, openPtyInRoot, type Pty } from "../linux/terminal";
import { ownEffective } from "../linux/capabilities";
import { resolveExecutable } from "../linux/process";
import { withHome } from "../linux/passwd";
import { MS } from "../linux/mount-options";
import { moveTree } from "../linux/idmap";
import { closeFd, openPath, readText, writeText } from "../sys/files";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const MOUNT_ATTR = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8 };
const NS = { mnt: 0x00020000, net: 0x40000000, ipc: 0x08000000, uts: 0x04000000, cgroup: 0x02000000, pid: 0x20000000 } as const;

/** Why the Bun init sets this container up rather than bunc's own thread (undefined: bunc's thread does). */
export function whyNotFromHost(c: Config, o: { nativeInit: boolean }): string | undefined {
  if (process.env.BUNC_HOST_SETUP === "0") return "BUNC_HOST_SETUP=0";
  if (!o.nativeInit) return "this build has no native init";
  if (process.geteuid?.() !== 0) return "not root";
  const ns = c.linux.namespaces;
  const has = (t: string) => ns.some((n) => n.type === t);
  if (!has("mount") || ns.some((n) => n.type === "mount" && n.path)) return "no mount namespace of its own";
  if (!has("pid")) return "no PID namespace of its own";
  // A multithreaded process cannot enter a user namespace: one given by path, or createContainer
  // hooks (run inside the container's user namespace), are left to the Bun init.
  if (ns.some((n) => n.type === "user" && n.path)) return "a user namespace given by path";
  if (has("user") && c.hooks?.createContainer?.length) return "createContainer hooks in a user namespace";
  // Joining a mount namespace takes CAP_SYS_ADMIN and CAP_SYS_CHROOT here (an outer container
  // may have dropped them while still letting a user namespace be made: its init does it then).
  const CAP_SYS_CHROOT = 18n, CAP_SYS_ADMIN = 21n, both = (1n << CAP_SYS_ADMIN) | (1n << CAP_SYS_CHROOT);
  if (has("user") && (ownEffective() & both) !== both) return "no CAP_SYS_ADMIN and CAP_SYS_CHROOT to join a user namespace's mounts";
  return undefined;
}

type IdMap = { containerID: number; hostID: number; size: number };

/** The container's user namespace, as the host sees it (absent: none of its own). */
export interface UserNs { uidMappings: IdMap[]; gidMappings: IdMap[]; ownNet: boolean; ownIpc: boolean }

/** The host id of container id `id` (undefined when unmapped). */
export function toHostId(maps: IdMap[], id: number): number | undefined {
  const m = maps.find((m) => m.containerID <= id && id < m.containerID + m.size);
  return m ? m.hostID + (id - m.containerID) : undefined;
}

/**
 * mount(2) as a task inside the container would see it: proc for the container's PID
 * namespace; in its user namespace, uid=/gid= options are container ids (the kernel reads
 * them in the mounting task's), and sysfs/mqueue without a network/IPC namespace of the
 * container's own are refused as the kernel would refuse them there (mountOne binds the host's).
 */
class HostSideSyscalls extends LinuxSyscalls {
  /** `procContexts`: proc contexts the init opened in the container's PID namespace, one per proc mount, in order. */
  constructor(private readonly procContexts: number[], private readonly userns?: UserNs) { super(); }
  override mount(source: string | null, target: string, fstype: string | null, flags: bigint, data: string | null): void {
    const u = this.userns;
    if (u && !(flags & (MS.REMOUNT | MS.BIND | MS.MOVE))) {
      if ((fstype === "sysfs" && !u.ownNet) || (fstype === "mqueue" && !u.ownIpc)) throw new SyscallError("mount", 1 /* EPERM */, target);
      if (data && (fstype === "tmpfs" || fstype === "devpts")) data = hostIdOptions(data, u);
    }
    if (fstype !== "proc" || flags & MS.REMOUNT || flags & MS.BIND) return super.mount(source, target, fstype, flags, data);
    const fs = this.procContexts.shift();
    if (fs === undefined) throw new SyscallError("fsopen", 22 /* EINVAL */, `${target}: no proc context from the init`);
    try {
      const conf = (cmd: number, key: string | null, value: string | null, aux: number) => fsconfig(fs, cmd, key, value, aux, `proc${key ? ` ${key}` : ""} on ${target}`);
      // mount(2) names the source itself; here it is "none" unless told (runtimetest checks it).
      conf(FSCONFIG.SET_STRING, "source", source ?? "proc", 0);
      for (const opt of (data ?? "").split(",").filter(Boolean)) {
        const eq = opt.indexOf("=");
        if (eq < 0) conf(FSCONFIG.SET_FLAG, opt, null, 0);
        else conf(FSCONFIG.SET_STRING, opt.slice(0, eq), opt.slice(eq + 1), 0);
      }
      conf(FSCONFIG.CMD_CREATE, null, null, 0);
      const attrs = (flags & MS.RDONLY ? MOUNT_ATTR.RDONLY : 0) | (flags & MS.NOSUID ? MOUNT_ATTR.NOSUID : 0) | (flags & MS.NODEV ? MOUNT_ATTR.NODEV : 0) | (flags & MS.NOEXEC ? MOUNT_ATTR.NOEXEC : 0);
      const mnt = fsmount(fs, attrs, target);
      try {
        moveTree(mnt, target, this);
      } finally {
        closeFd(mnt);
      }
    } finally {
      closeFd(fs);
    }
  }
}

function hostIdOptions(data: string, u: UserNs): string {
  return data.split(",").map((opt) => {
    const m = opt.match(/^(uid|gid)=(\d+)$/);
    if (!m) return opt;
    const host = toHostId(m[1] === "uid" ? u.uidMappings : u.gidMappings, Number(m[2]));
    if (host === undefined) throw new Error(`${opt}: not mapped in the container's user namespace`);
    return `${m[1]}=${host}`;
  }).join(",");
}

/**
 * Runs `fn` making files as the container's root: this thread's fsuid/fsgid become its host
 * ids (so directories, files and tmpfs roots made meanwhile are root's inside, as if the init
 * had made them), with the file capabilities that drops raised again. This thread only: the
 * kernel keeps fs ids and capabilities per thread, and libc's setfsuid does not broadcast.
 */
function asContainerRoot<T>(u: UserNs | undefined, fn: () => T): T {
  if (!u) return fn();
  const uid = toHostId(u.uidMappings, 0) ?? 0, gid = toHostId(u.gidMappings, 0) ?? 0;
  setFsIds(uid, gid);
  try {
    raiseEffectiveCaps();
    return fn();
  } finally {
    setFsIds(0, 0); // back to 0: the kernel raises the file capabilities again
  }
}

/**
 * Runs `fn` with this thread in the namespaces of `pid`, and back again after. With `pid`
 * namespace too, the children it starts (createContainer hooks) are born in the container's.
 */
function inNamespaces<T>(pid: number, fn: () => T, withPidNs = false): T {
  const types = (Object.keys(NS) as (keyof typeof NS)[]).filter((t) => withPidNs || t !== "pid");
  const sys = new LinuxSyscalls();
  const own = types.map((t) => openPath(`/proc/self/ns/${t}`, O.RDONLY));
  const theirs = types.map((t) => openPath(`/proc/${pid}/ns/${t}`, O.RDONLY));
  const cwd = openPath(".", O.PATH | O.DIRECTORY);
  const join = (fds: number[]) => types.forEach((t, i) => (t === "mnt" ? setnsMount(fds[i]!, sys) : sys.setns(fds[i]!, NS[t])));
  try {
    // Back to its own namespaces whatever happened, a half-done join included.
    try {
      join(theirs);
      return fn();
    } finally {
      join(own);
      sys.fchdir(cwd);
    }
  } finally {
    for (const fd of [...own, ...theirs, cwd]) closeFd(fd);
  }
}

export interface HostSetupResult {
  path: string;
  env: string[];
  /** process.terminal: the pty, its slave for the native init, its master for the console socket. */
  pty?: Pty;
  /** --no-pivot: the moved root, for the native init to enter (pivot_root moves it along instead). */
  rootFd?: number;
}

/**
 * The container's filesystem, from here. `runtimeHooks` (prestart, createRuntime) run in
 * the runtime namespaces between the mounts and pivot_root, as the spec orders them, and
 * `containerHooks` (createContainer) right after, in the container's namespaces.
 */
export function setUpFromHost(c: Config, o: {
  pid: number; rootfs: string; bundle: string; cgroupPaths?: Record<string, string>; extraEnv: string[]; noPivot?: boolean; userns?: UserNs;
  /** Idmapped bind mounts, cloned on the host (linux/idmap.ts) by index in `mounts`. */
  trees?: Map<number, number>;
  /** proc contexts the init opened in its PID namespace (procMounts of them), closed here. */
  procContexts: number[];
  runtimeHooks: () => void; containerHooks: () => void; debug?: (m: string) => void;
}): HostSetupResult {
  const contexts = [...o.procContexts];
  const mountLabel = effectiveMountLabel(c);
  try {
    const sys = new HostSideSyscalls(contexts, o.userns);
    const mount = () => {
      prepareRoot(sys, o.rootfs, c.linux.rootfsPropagation);
      const rootFd = openPath(o.rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC);
      const u = o.userns;
      const rootOwner: [number, number] | undefined = u && [toHostId(u.uidMappings, 0) ?? 0, toHostId(u.gidMappings, 0) ?? 0];
      const ctx: MountContext = { sys, rootfs: o.rootfs, rootFd, bundle: o.bundle, inUserNs: !!u, cgroupPaths: o.cgroupPaths, mountLabel, rootOwner };
      try {
        mountAll(ctx, c, { trees: o.trees, mounted: (m) => o.debug?.(`mounted ${m.type ?? "bind"} on ${m.destination} (from bunc)`) });
      } finally {
        closeFd(rootFd);
      }
    };
    const finish = (): HostSetupResult => {
      // Sysctls through the container's /proc/sys, in its network and IPC namespaces; then
      // masked and read-only paths and the read-only root, all while "/" is still the host's.
      applySysctlIn(o.rootfs, c.linux.sysctl);
      maskPaths(sys, c.linux.maskedPaths, o.rootfs, mountLabel);
      readonlyPaths(sys, c.linux.readonlyPaths, o.rootfs);
      if (c.hostname !== undefined) sys.sethostname(c.hostname);
      if (c.domainname !== undefined) sys.setdomainname(c.domainname);
      if (c.root?.readonly) remount(sys, o.rootfs, MS.RDONLY | MS.BIND | MS.REC);
      let rootFd: number | undefined;
      if (o.noPivot) {
        moveRoot(sys, o.rootfs, readText("/proc/thread-self/mountinfo"));
        rootFd = openPath("/", O.PATH | O.DIRECTORY | O.CLOEXEC);
      } else {
        pivotRoot(sys, o.rootfs);
      }
      const p = c.process!;
      const pty = p.terminal ? openTerminal(sys, p, o.userns) : undefined;
      applyRootPropagation(sys, c.linux.rootfsPropagation);
      const env = withHome([...p.env, ...o.extraEnv], p.user?.uid ?? 0);
      return { path: resolveExecutable(p.args[0]!, env, p.cwd), env, pty, rootFd };
    };
    const h = c.hooks;
    if (!h?.prestart?.length && !h?.createRuntime?.length && !h?.createContainer?.length) {
      // No hook runs between the mounts and pivot_root: one trip into the namespaces, not two
      // (each is ~30 calls: the namespace files opened, five setns there and five back).
      return inNamespaces(o.pid, () => asContainerRoot(o.userns, () => {
        mount();
        o.runtimeHooks(); // none to run: only its trace line
        return finish();
      }));
    }
    inNamespaces(o.pid, () => asContainerRoot(o.userns, mount));
    o.runtimeHooks();
    if (h?.createContainer?.length) inNamespaces(o.pid, o.containerHooks, true);
    return inNamespaces(o.pid, () => asContainerRoot(o.userns, finish));
  } finally {
    for (const fs of contexts) closeFd(fs); // not taken by a mount
  }
}

/** How many proc mounts the config makes (not binds or remounts): each takes a context from the init. */
export function procMounts(c: Config): number {
  return c.mounts.filter((m) => m.type === "proc" && !m.options?.some((o) => o === "bind" || o === "rbind" || o === "remount")).length;
}

function applySysctlIn(rootfs: string, sysctl: Record<string, string> = {}): void {
  for (const [key, value] of Object.entries(sysctl)) {
    try {
      writeText(`${rootfs}/proc/sys/${key.replace(/\./g, "/")}`, value);
    } catch (e: any) {
      throw new Error(`linux.sysctl: cannot set ${key}=${value}: ${e.code ?? e.message}`);
    }
  }
}

/** A pty from the container's devpts (this thread's root is the container's now), its /dev/console. */
function openTerminal(sys: LinuxSyscalls, p: NonNullable<Config["process"]>, u: UserNs | undefined): Pty {
  // dev/ptmx resolved inside the container's root without magic links (a bound /dev is the
  // bundle's to shape), the slave taken from the master: as `exec --tty` does.
  const root = openPath("/", O.PATH | O.DIRECTORY | O.CLOEXEC);
  let pty: Pty;
  try {
    pty = openPtyInRoot(root, p.consoleSize, sys);
  } finally {
    closeFd(root);
  }
  try {
    // The process's own terminal, as a login's (runc): its user may reopen it, chmod it, ...
    const uid = p.user?.uid ?? 0;
    if (uid !== 0) nodeFs().fchownSync(pty.slave, u ? toHostId(u.uidMappings, uid) ?? uid : uid, -1);
    bindConsole(sys, pty);
    return pty;
  } catch (e) {
    closeFd(pty.master);
    closeFd(pty.slave);
    throw e;
  }
}
