// The mounts of config.json, in order, each target resolved inside the rootfs and
// pinned with an fd so that a symlink swapped in later cannot redirect it.
import { isAbsolute, join } from "../sys/paths";
import type { Mount } from "../spec/schema";
import { RESOLVE, type Syscalls } from "../sys/syscalls";
import { SyscallError } from "../sys/libc";
import { O } from "../sys/arch";
import { MS, parseMountOptions, withMountLabel } from "./mount-options";
import { parseMountInfo, readMountInfo } from "./mountinfo";
import { parseProcCgroup } from "./cgroups/layout";
import { existsInRoot, makeLeafInRoot, mkdirAllInRoot, resolveRelative, touchInRoot } from "./path";
import { changeOwnerFd, isOnProcfs, readLink, readText, statFd, statPath } from "../sys/files";

export interface MountContext {
  sys: Syscalls;
  rootfs: string;          // host path of the rootfs (already a mount point)
  rootFd: number;          // O_PATH fd of rootfs
  bundle: string;
  inUserNs: boolean;
  /** The container's cgroup per hierarchy ("" = cgroup2); what `type: cgroup` mounts show. */
  cgroupPaths?: Record<string, string>;
  /** linux.mountLabel when SELinux is enabled (lsm.ts effectiveMountLabel): context= of the mounts runc labels. */
  mountLabel?: string;
  /** Set up from the host side in a user namespace: the host uid and gid of the container's root. */
  rootOwner?: [number, number];
}

/**
 * Creates the mount point (dir, or file for a file bind) and returns its path relative to
 * the rootfs. Created below the pinned rootfs fd: the rootfs may change under us.
 */
export function prepareMountpoint(ctx: Pick<MountContext, "sys" | "rootfs" | "rootFd">, destination: string, asFile: boolean): string {
  // Most mount points exist: the kernel's walk below rootFd (RESOLVE_IN_ROOT follows the
  // rootfs's symlinks inside it, as resolveRelative does) finds one in a single call, and
  // every later pin of it resolves the same way.
  const asWritten = destination.replace(/^\/+/, "");
  if (existsInRoot(ctx.sys, ctx.rootFd, asWritten) || makeLeafInRoot(ctx.sys, ctx.rootFd, asWritten, asFile)) return asWritten;
  const rel = resolveRelative(ctx.rootfs, destination);
  if (asFile) touchInRoot(ctx.rootFd, rel, 0o644, ctx.sys);
  else mkdirAllInRoot(ctx.rootFd, rel, 0o755, ctx.sys);
  return rel;
}

/** Runs fn with a /proc/self/fd path that pins the mount point (and the fd itself). */
export function withPinned<T>(ctx: MountContext, rel: string, fn: (target: string, fd: number) => T): T {
  const fd = ctx.sys.openInRoot(ctx.rootFd, rel);
  try {
    return fn(`/proc/self/fd/${fd}`, fd);
  } finally {
    ctx.sys.close(fd);
  }
}

const ATIME_FLAGS = MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME;
/** What the kernel locks on a mount copied into a user namespace's mount namespace. */
const LOCKABLE = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | ATIME_FLAGS;
const FLAG_NAMES: [bigint, string][] = [[MS.RDONLY, "ro"], [MS.NOSUID, "nosuid"], [MS.NODEV, "nodev"], [MS.NOEXEC, "noexec"],
  [MS.NOATIME, "noatime"], [MS.NODIRATIME, "nodiratime"], [MS.RELATIME, "relatime"], [MS.STRICTATIME, "strictatime"]];
const flagNames = (flags: bigint) => FLAG_NAMES.filter(([f]) => flags & f).map(([, n]) => n).join(",");

/**
 * Remount with new flags (`cleared`: those the options turned off, "rw", "suid", ...). In a
 * user namespace the kernel refuses to change the flags locked on a bind mount's source: as
 * runc 1.3, the remount is tried again with them kept, unless the options asked to clear
 * one or for other atime flags, which is an error naming them (not a mount that quietly
 * differs from the request).
 */
export function remount(sys: Syscalls, target: string, flags: bigint, cleared = 0n): void {
  const base = MS.REMOUNT | MS.BIND | (flags & ~(MS.BIND | MS.REC | MS.REMOUNT));
  try {
    sys.mount(null, target, null, base, null);
  } catch (e) {
    if (!(e instanceof SyscallError) || e.errno !== 1) throw e;
    let locked = sys.mountFlags(target) & LOCKABLE;
    if (!(locked & (MS.NOATIME | MS.RELATIME))) locked |= MS.STRICTATIME; // statvfs has no flag for it
    const stuck = locked & cleared & ~ATIME_FLAGS;
    if (stuck) throw new Error(`cannot clear the source mount's locked flags (${flagNames(stuck)}) in a user namespace`);
    const atime = flags & ATIME_FLAGS;
    if (atime && atime !== (locked & ATIME_FLAGS))
      throw new Error(`cannot change the source mount's locked atime flags (${flagNames(locked & ATIME_FLAGS)}) to ${flagNames(atime)} in a user namespace`);
    sys.mount(null, target, null, base | locked, null);
  }
}

/** `tree`: an idmapped clone of the source made on the host (linux/idmap.ts), moved into place instead of a bind. */
export function mountOne(ctx: MountContext, m: Mount, tree?: number): void {
  const type = m.type ?? "";
  const o = parseMountOptions(m.options, type);
  const dest = isAbsolute(m.destination) ? m.destination : "/" + m.destination;
  if (type === "cgroup" || type === "cgroup2") return mountCgroup(ctx, dest, o.flags);
  if ((type === "proc" || type === "sysfs") && isSymlinkInRoot(ctx.rootfs, dest))
    throw new Error(`mount ${dest}: ${type} must be mounted on ordinary directory, not a symlink in the rootfs`);
  if (o.bind) {
    const source = isAbsolute(m.source ?? "") ? m.source! : join(ctx.bundle, m.source ?? "");
    let isDir: boolean;
    try {
      // A tree made on the host: its own kind (the path may not be reachable from here).
      isDir = (tree !== undefined ? statFd(tree) : statPath(source)!).isDirectory();
    } catch (e: any) {
      throw new Error(`mount ${dest}: bind source ${source}: ${e.code ?? e.message}`);
    }
    const rel = prepareMountpoint(ctx, dest, !isDir);
    if (tree !== undefined) withPinned(ctx, rel, (target, fd) => {
      checkProcDestination(ctx, fd, dest, type, source);
      (require("./idmap") as typeof import("./idmap")).moveTree(tree, target, ctx.sys);
    });
    else withPinned(ctx, rel, (target, fd) => {
      checkProcDestination(ctx, fd, dest, type, source);
      ctx.sys.mount(source, target, null, MS.BIND | (o.flags & MS.REC), null);
    });
    // A pinned fd points below a mount made on it: pin again to reach the new mount.
    withPinned(ctx, rel, (target) => {
      // Cleared flags too ("rw" of a read-only source), as runc 1.3.
      if (o.flags & ~(MS.BIND | MS.REC) || o.cleared) remount(ctx.sys, target, o.flags, o.cleared);
      for (const p of o.propagation) ctx.sys.mount(null, target, null, p, null);
      if (o.recursiveSet || o.recursiveClear) ctx.sys.mountSetattrRecursive(target, o.recursiveSet, o.recursiveClear);
    });
    return;
  }
  const rel = prepareMountpoint(ctx, dest, false);
  // tmpcopyup: the directory, opened before the tmpfs covers it, is copied into it after.
  const covered = o.copyUp ? ctx.sys.openInRoot(ctx.rootFd, rel, O.RDONLY | O.DIRECTORY | O.CLOEXEC) : -1;
  try {
    // A read-only one is made read-only once the copy is in (as runc).
    const readOnlyLater = covered >= 0 && (o.flags & MS.RDONLY) !== 0n;
    mountNew(ctx, m, type, readOnlyLater ? { ...o, flags: o.flags & ~MS.RDONLY } : o, rel);
    if (covered >= 0) withPinned(ctx, rel, (target) => {
      (require("./tmpcopyup") as typeof import("./tmpcopyup")).copyUp(covered, target, dest);
      if (readOnlyLater) remount(ctx.sys, target, o.flags);
    });
  } finally {
    if (covered >= 0) ctx.sys.close(covered);
  }
}

// runc's checkProcMount: inside the container's /proc only what lxcfs emulates may be mounted
// over, and on /proc itself only a procfs. A mount elsewhere in /proc hides what the kernel
// shows there, or takes writes meant for it (linux.sysctl's, runc's CVE-2025-52881).
const LXCFS_PROC_FILES = new Set(["/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
  "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"]);

/** Refuses a mount point (pinned as `fd`) that resolved into the container's /proc, as runc does. */
function checkProcDestination(ctx: MountContext, fd: number, dest: string, type: string, bindSource?: string): void {
  const where = containerPath(ctx, fd);
  if (where === "/proc") {
    if (bindSource === undefined ? type === "proc" : isOnProcfs(bindSource)) return;
    throw new Error(`${resolvedTo(dest, where)}only a proc filesystem may be mounted on /proc (type proc, or a bind of one)`);
  }
  if (where === undefined || !where.startsWith("/proc/") || LXCFS_PROC_FILES.has(where)) return;
  throw new Error(`${resolvedTo(dest, where)}cannot be mounted inside /proc (only over ${[...LXCFS_PROC_FILES].join(", ")}, as lxcfs does)`);
}

/** "" when the destination is where it resolved to, else what it resolved to (through a symlink). */
const resolvedTo = (dest: string, where: string) => ("/" + dest.replace(/^\/+/, "") === where ? "" : `resolves to ${where}: `);

const rootNames = new WeakMap<MountContext, string>();

/** Where the file pinned as `fd` is in the container (symlinks resolved), by the kernel's name of it and of the rootfs. */
function containerPath(ctx: MountContext, fd: number): string | undefined {
  let root = rootNames.get(ctx);
  if (root === undefined) rootNames.set(ctx, (root = readLink(`/proc/self/fd/${ctx.rootFd}`)));
  const path = readLink(`/proc/self/fd/${fd}`);
  if (root === "/") return path;
  return path === root ? "/" : path.startsWith(root + "/") ? path.slice(root.length) : undefined;
}

/** A filesystem of its own (not a bind) on the prepared mountpoint `rel`. */
function mountNew(ctx: MountContext, m: Mount, type: string, o: ReturnType<typeof parseMountOptions>, rel: string): void {
  let bound = false;
  // proc and sysfs: not over a symlink swapped in after the check above either.
  const pin = type === "proc" || type === "sysfs" ? pinNoSymlinks : withPinned;
  pin(ctx, rel, (target, fd) => {
    checkProcDestination(ctx, fd, m.destination, type);
    // Without a mode= option a tmpfs takes its mountpoint's mode, set-id and sticky bits
    // included (runc, its issues 3911 and 3952), not the kernel's 1777.
    const data = type === "tmpfs" && !o.data.some((d) => d.startsWith("mode=")) ? [`mode=${ctx.sys.fileMode(fd).toString(8).padStart(4, "0")}`, ...o.data] : o.data;
    try {
      ctx.sys.mount(m.source ?? type, target, type, o.flags, withMountLabel(data.length ? data.join(",") : null, type, ctx.mountLabel));
    } catch (e) {
      // Without their own namespace, sysfs and mqueue cannot be mounted in a user
      // namespace; bind the host's instead, as runc does.
      const fallback = type === "sysfs" ? "/sys" : type === "mqueue" ? "/dev/mqueue" : undefined;
      if (!(e instanceof SyscallError) || e.errno !== 1 || !fallback || !ctx.inUserNs) throw e;
      ctx.sys.mount(fallback, target, null, MS.BIND | MS.REC, null);
      bound = true;
    }
  });
  // mqueue takes its label on its root (runc: label.SetFileLabel), not as context=; the
  // host's, bound in its place, is not the container's to relabel.
  if (type === "mqueue" && ctx.mountLabel && !bound) {
    const fd = ctx.sys.openInRoot(ctx.rootFd, rel, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
    try {
      ctx.sys.fsetxattr(fd, "security.selinux", ctx.mountLabel, `/${rel}`);
    } finally {
      ctx.sys.close(fd);
    }
  }
  // Mounted from the host side, devpts's root and the mqueue of the container's IPC namespace
  // (made by the clone) are the host root's, nobody inside; runc's init, which mounts them as
  // the container's root, gives them to it.
  if (ctx.rootOwner && !bound && (type === "devpts" || type === "mqueue")) {
    const fd = ctx.sys.openInRoot(ctx.rootFd, rel, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
    try {
      changeOwnerFd(fd, ...ctx.rootOwner);
    } finally {
      ctx.sys.close(fd);
    }
  }
  if (bound || o.propagation.length || o.recursiveSet || o.recursiveClear)
    withPinned(ctx, rel, (target) => {
      if (bound) remount(ctx.sys, target, o.flags);
      for (const p of o.propagation) ctx.sys.mount(null, target, null, p, null);
      if (o.recursiveSet || o.recursiveClear) ctx.sys.mountSetattrRecursive(target, o.recursiveSet, o.recursiveClear);
    });
}

function pinNoSymlinks<T>(ctx: MountContext, rel: string, fn: (target: string, fd: number) => T): T {
  let fd: number;
  try {
    fd = ctx.sys.openInRoot(ctx.rootFd, rel, O.PATH | O.CLOEXEC, RESOLVE.NO_SYMLINKS);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === 40 /* ELOOP */) throw new Error(`mount /${rel}: cannot go over a symlink in the rootfs`);
    throw e;
  }
  try {
    return fn(`/proc/self/fd/${fd}`, fd);
  } finally {
    ctx.sys.close(fd);
  }
}

function isSymlinkInRoot(rootfs: string, dest: string): boolean {
  // Checks the destination itself and each parent as written, before resolution.
  const parts = dest.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const st = statPath(join(rootfs, ...parts.slice(0, i)), { follow: false, missingOk: true });
    if (st?.isSymbolicLink()) return true;
  }
  return false;
}

/** The host's cgroup hierarchies: mount point, the cgroup mounted there, and the mount options naming its controllers. */
export function hostCgroupMounts(mountinfo = readMountInfo()) {
  return parseMountInfo(mountinfo).filter((m) => m.fstype === "cgroup" || m.fstype === "cgroup2").map(({ mountPoint, root, fstype, superOptions }) => ({
    mountpoint: mountPoint,
    root,
    fstype,
    options: fstype === "cgroup2" ? "" : superOptions.split(",").filter((o) => o !== "rw" && o !== "ro").join(","),
  }));
}

/** Own cgroup path per hierarchy (controllers or "" for v2), from /proc/self/cgroup. */
function ownCgroups(): Record<string, string> {
  return parseProcCgroup(readText("/proc/self/cgroup"));
}

/** Host directory of the container's cgroup in hierarchy `h`. */
export function cgroupDir(h: { mountpoint: string; root: string; fstype: string; options: string }, paths: Record<string, string> | undefined, own: Record<string, string>): string {
  const controllers = h.fstype === "cgroup2" ? [""] : h.options.split(",");
  for (const c of controllers) if (paths?.[c]) return paths[c]!;
  // No cgroup of its own (rootless): bunc's, where the mount shows it. Inside an outer container
  // without a cgroup namespace the mount shows the outer's cgroup (its root), and
  // /proc/self/cgroup names it from the hierarchy's root; one not shown at all: what is.
  const at = (p: string) =>
    h.root === "/" ? h.mountpoint + p : p === h.root || p.startsWith(h.root + "/") ? h.mountpoint + p.slice(h.root.length) : h.mountpoint;
  if (h.fstype === "cgroup2") return at(own[""] ?? "/");
  for (const c of controllers) if (c && own[c] !== undefined) return at(own[c]!);
  return h.mountpoint;
}

/**
 * `type: cgroup`: the host's layout mirrored inside the container, each hierarchy a bind
 * mount of the container's own cgroup directory, so the container sees its cgroup as
 * the root (with or without a cgroup namespace) and nothing above it.
 */
function mountCgroup(ctx: MountContext, dest: string, flags: bigint): void {
  const hosts = hostCgroupMounts().filter((h) => h.mountpoint.startsWith("/sys/fs/cgroup"));
  const own = ownCgroups();
  const unifiedOnly = hosts.length === 1 && hosts[0]!.mountpoint === "/sys/fs/cgroup";
  const flat = flags & ~MS.RDONLY;
  if (!unifiedOnly) {
    const rel = prepareMountpoint(ctx, dest, false);
    withPinned(ctx, rel, (t) => ctx.sys.mount("tmpfs", t, "tmpfs", flat, withMountLabel("mode=755", "tmpfs", ctx.mountLabel)));
  }
  for (const h of hosts) {
    const rel = prepareMountpoint(ctx, dest + h.mountpoint.slice("/sys/fs/cgroup".length), false);
    withPinned(ctx, rel, (t) => ctx.sys.mount(cgroupDir(h, ctx.cgroupPaths, own), t, null, MS.BIND, null));
    withPinned(ctx, rel, (t) => remount(ctx.sys, t, flags));
  }
  if (!unifiedOnly && flags & MS.RDONLY) {
    const rel = resolveRelative(ctx.rootfs, dest);
    withPinned(ctx, rel, (t) => remount(ctx.sys, t, flat | MS.RDONLY));
  }
}
