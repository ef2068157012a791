// The container's root: propagation, the rootfs bind, pivot_root (or MS_MOVE+chroot),
// masked and read-only paths, and the final read-only remount of "/".
import type { Syscalls } from "../sys/syscalls";
import { SyscallError } from "../sys/libc";
import type { Config, Mount } from "../spec/schema";
import { asBuncError, BuncError, withContext } from "../sys/errors";
import { MS, parseMountOptions, PROPAGATION, withMountLabel } from "./mount-options";
import { mountOne, remount, withPinned, type MountContext } from "./mounts";
import { setupDev } from "./devices";
import { parseMountInfo, readMountInfo } from "./mountinfo";
import { mkdirAllInRoot, touchInRoot } from "./path";
import { O } from "../sys/arch";
import { closeFd, openPath, statFd, statPath, writeText } from "../sys/files";
import { makedev } from "../sys/devnum";

/** Makes the container's mounts stop propagating to the host, and the rootfs a mount point. */
export function prepareRoot(sys: Syscalls, rootfs: string, propagation?: string, mountinfo = readMountInfo): void {
  // An unbindable "/" could not give the rootfs bind below (EINVAL): keep the tree private
  // until after pivot_root, where applyRootPropagation makes the new root unbindable (as crun).
  const unbindable = propagation !== undefined && (PROPAGATION[propagation]! & MS.UNBINDABLE) !== 0n;
  const flags = !propagation ? MS.SLAVE | MS.REC : unbindable ? MS.PRIVATE | MS.REC : PROPAGATION[propagation]!;
  sys.mount(null, "/", null, flags, null);
  // pivot_root also refuses a shared parent of the new root (rootfsPropagation "shared"
  // or "rshared"): make the mount holding the rootfs private first, as runc does.
  const parent = parentMount(rootfs, mountinfo());
  if (parent?.shared) sys.mount(null, parent.mountpoint, null, MS.PRIVATE, null);
  sys.mount(rootfs, rootfs, null, MS.BIND | MS.REC, null);
  // pivot_root refuses a shared new root.
  sys.mount(null, rootfs, null, MS.PRIVATE, null);
}

export function pivotRoot(sys: Syscalls, rootfs: string): void {
  const oldRoot = openPath("/", O.DIRECTORY);
  try {
    sys.chdir(rootfs);
    sys.pivotRoot(".", ".");
    // The old root is now stacked under "."; detach it without propagating the umount.
    sys.fchdir(oldRoot);
    sys.mount(null, ".", null, MS.SLAVE | MS.REC, null);
    sys.umount2(".", 2 /* MNT_DETACH */);
    sys.chdir("/");
  } finally {
    closeFd(oldRoot);
  }
}

/** The mount that `path` is on (the topmost of the longest mount point above it), from mountinfo. */
export function parentMount(path: string, mountinfo: string): { mountpoint: string; shared: boolean } | undefined {
  let best: { mountpoint: string; shared: boolean } | undefined;
  for (const { mountPoint: mountpoint, optional } of parseMountInfo(mountinfo)) {
    const under = mountpoint === "/" || path === mountpoint || path.startsWith(mountpoint + "/");
    if (!under || (best && mountpoint.length < best.mountpoint.length)) continue;
    best = { mountpoint, shared: optional.some((o) => o.startsWith("shared:")) };
  }
  return best;
}

/** --no-pivot: move the rootfs over "/" and chroot into it (for ramfs roots). */
export function moveRoot(sys: Syscalls, rootfs: string, mountinfo = readMountInfo()): void {
  hideHostProcAndSys(sys, rootfs, mountinfo);
  sys.chdir(rootfs);
  sys.mount(rootfs, "/", null, MS.MOVE, null);
  sys.chroot(".");
  sys.chdir("/");
}

/**
 * --no-pivot leaves the old root reachable under the chroot: a full host procfs or sysfs
 * mount there would let a nested user namespace mount a fresh proc (the kernel allows it
 * when a fully visible one exists in the mount namespace). So, as runc does, every proc and
 * sysfs mount outside the rootfs is detached in this mount namespace (covered with a tmpfs
 * when it cannot be).
 */
export function hideHostProcAndSys(sys: Syscalls, rootfs: string, mountinfo: string): void {
  const inside = (p: string) => p === rootfs || p.startsWith(rootfs.endsWith("/") ? rootfs : rootfs + "/");
  const targets = parseMountInfo(mountinfo)
    .filter((m) => (m.fstype === "proc" || m.fstype === "sysfs") && !inside(m.mountPoint))
    .map((m) => m.mountPoint);
  for (const p of targets.reverse()) {
    try {
      sys.mount(null, p, null, MS.SLAVE | MS.REC, null); // the detach must not reach the host
      sys.umount2(p, 2 /* MNT_DETACH */);
    } catch (e) {
      if (!(e instanceof SyscallError) || e.errno !== 22 /* EINVAL: not a mount (any more) */) {
        try { sys.mount("tmpfs", p, "tmpfs", 0n, null); } catch {}
      }
    }
  }
}

/** After pivot: applies the configured propagation to the new "/" (runc does the same). */
export function applyRootPropagation(sys: Syscalls, propagation?: string): void {
  if (propagation) sys.mount(null, "/", null, PROPAGATION[propagation]!, null);
}

/**
 * Runs fn with a /proc/self/fd path pinning `path` below rootFd; false when it is absent.
 * openat2 RESOLVE_IN_ROOT follows the rootfs's symlinks inside it, as resolveRelative does,
 * in one call; a symlink loop counts as absent, as it did there.
 */
function pinInRoot(sys: Syscalls, rootFd: number, path: string, fn: (target: string) => void): boolean {
  let fd: number | undefined;
  try {
    fd = sys.openInRootIfExists(rootFd, path.replace(/^\/+/, ""));
  } catch (e) {
    if (e instanceof SyscallError && e.errno === 40) return false; // a symlink loop: nothing to mask either
    throw e;
  }
  if (fd === undefined) return false; // absent: nothing to mask
  try {
    fn(`/proc/self/fd/${fd}`);
  } finally {
    sys.close(fd);
  }
  return true;
}

/** Runs fn with an fd of `root` (the container's "/" as seen from here) for the pins below it. */
function withRoot(root: string, fn: (rootFd: number) => void): void {
  const rootFd = openPath(root, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    fn(rootFd);
  } finally {
    closeFd(rootFd);
  }
}

/** maskedPaths: an empty read-only tmpfs over directories, /dev/null over files. */
/** `root`: where the container's "/" is now (its rootfs path when bunc sets it up before pivot_root); `mountLabel`: the tmpfs's context= (as runc). */
export function maskPaths(sys: Syscalls, paths: string[] = [], root = "/", mountLabel?: string): void {
  if (!paths.length) return;
  withRoot(root, (rootFd) => {
    let devNull: number | undefined;
    try {
      for (const p of paths) {
        pinInRoot(sys, rootFd, p, (target) => {
          if (statPath(target)!.isDirectory()) sys.mount("tmpfs", target, "tmpfs", MS.RDONLY, withMountLabel("size=0", "tmpfs", mountLabel));
          else sys.mount(`/proc/self/fd/${(devNull ??= openDevNull(sys, rootFd, p))}`, target, null, MS.BIND, null);
        });
      }
    } finally {
      if (devNull !== undefined) sys.close(devNull);
    }
  });
}

/**
 * The container's /dev/null (as after pivot_root, as runc: from the host side "/dev/null" is
 * the host's), the source of every file mask: opened without following a symlink at its name,
 * checked to be the null device, and bound from that fd. A /dev/null that was a symlink to a
 * procfs file had that file bound over the masked paths, writable (runc's CVE-2025-31133:
 * /proc/sys/kernel/core_pattern is the host's); runc 1.3.3 refuses such a /dev/null too.
 */
function openDevNull(sys: Syscalls, rootFd: number, masking: string): number {
  const fd = sys.openInRootIfExists(rootFd, "dev/null", O.PATH | O.NOFOLLOW | O.CLOEXEC);
  if (fd === undefined) throw new BuncError(`linux.maskedPaths: cannot mask ${masking}: the container has no /dev/null`);
  const st = statFd(fd);
  if (st.isCharacterDevice() && st.rdev === makedev(1, 3)) return fd;
  sys.close(fd);
  const what = st.isSymbolicLink() ? "a symlink" : st.isCharacterDevice() ? "another device" : st.isDirectory() ? "a directory" : "a file";
  throw new BuncError(`linux.maskedPaths: cannot mask ${masking}: the container's /dev/null is not the null device (it is ${what})`);
}

/** readonlyPaths: bind each onto itself and remount it read-only. */
export function readonlyPaths(sys: Syscalls, paths: string[] = [], root = "/"): void {
  if (!paths.length) return;
  withRoot(root, (rootFd) => {
    for (const p of paths) {
      if (!pinInRoot(sys, rootFd, p, (target) => sys.mount(target, target, null, MS.BIND | MS.REC, null))) continue;
      // Pinned again: the first fd is below the new bind mount.
      pinInRoot(sys, rootFd, p, (target) => remount(sys, target, MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC));
    }
  });
}

export function readonlyRoot(sys: Syscalls): void {
  remount(sys, "/", MS.RDONLY);
}

/** linux.sysctl through /proc/sys (a key may be written with dots or slashes). */
export function applySysctl(sysctl: Record<string, string> = {}): void {
  for (const [key, value] of Object.entries(sysctl)) {
    const path = "/proc/sys/" + key.replace(/\./g, "/");
    try {
      writeText(path, value);
    } catch (e: any) {
      throw new Error(`linux.sysctl: cannot set ${key}=${value}: ${e.code ?? e.message}`);
    }
  }
}

/**
 * The config's mounts in order, /dev (unless the config binds one) and a missing process.cwd,
 * into the pinned rootfs of `ctx`. A read-only /dev gets its nodes (and a terminal's /dev/console) first and turns read-only
 * after (as the root does). `trees`: ready-made mounts (idmapped clones) by index in `mounts`;
 * `failed` names a mount's failure (the caller adds what it knows, e.g. an outer container's hint).
 */
export function mountAll(ctx: MountContext, c: Config, o: {
  trees?: Map<number, number>;
  mounted?: (m: Mount) => void;
  failed?: (i: number, m: Mount, e: unknown) => Error;
} = {}): void {
  const devIsBound = c.mounts.some((m) => m.destination === "/dev" && (m.options?.includes("bind") || m.options?.includes("rbind") || m.type === "bind"));
  const devReadonly = devIsBound ? undefined : c.mounts.find((m) => m.destination === "/dev" && m.options?.includes("ro"));
  for (const [i, m] of c.mounts.entries()) {
    try {
      mountOne(ctx, m === devReadonly ? { ...m, options: m.options!.filter((x) => x !== "ro") } : m, o.trees?.get(i));
      o.mounted?.(m);
    } catch (e) {
      throw o.failed?.(i, m, e) ?? withContext(`mounts[${i}] (${m.destination})`, e);
    }
  }
  if (!devIsBound) setupDev(ctx, c.linux.devices);
  // A terminal's /dev/console is the pty bound over it after pivot_root: its mount point is
  // made now, while /dev is writable (runc binds it before finalizeRootfs remounts /dev ro).
  if (!devIsBound && c.process?.terminal) touchInRoot(ctx.rootFd, "dev/console", 0o600, ctx.sys);
  if (devReadonly) withPinned(ctx, "dev", (t) => remount(ctx.sys, t, parseMountOptions(devReadonly.options, devReadonly.type).flags));
  // A missing process.cwd is made (as runc and crun), inside the rootfs, before the root turns read-only.
  try {
    mkdirAllInRoot(ctx.rootFd, c.process!.cwd.replace(/^\/+/, ""), 0o755, ctx.sys);
  } catch (e) {
    const err = asBuncError(e);
    throw new BuncError(`process.cwd: cannot create ${c.process!.cwd}: ${err.code ?? err.message}`, { errno: err.errno, code: err.code, cause: e });
  }
}

/**
 * A container without a mount namespace of its own had its mounts made below its rootfs in
 * the host's: detach them all (deepest first), so delete leaves the host as it found it.
 */
export function unmountBelow(sys: Syscalls, rootfs: string, mountinfo = readMountInfo): void {
  const below = parseMountInfo(mountinfo()).map((m) => m.mountPoint).filter((p) => p.startsWith(rootfs.replace(/\/+$/, "") + "/"));
  for (const target of below.reverse()) {
    try {
      sys.umount2(target, 2 /* MNT_DETACH */);
    } catch (e) {
      if (!(e instanceof SyscallError) || ![2, 22].includes(e.errno)) throw e; // gone with its parent already
    }
  }
}

/** Whether the container shares the host's mount namespace (no entry of type mount). */
export function sharesHostMounts(c: Config): boolean {
  return !c.linux.namespaces.some((n) => n.type === "mount");
}
