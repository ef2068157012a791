// /dev inside the container: the default nodes, their symlinks and linux.devices.
// In a user namespace mknod is refused, so host nodes are bind-mounted instead.
import { dirname, join } from "../sys/paths";
import type { Device } from "../spec/schema";
import { withContext } from "../sys/errors";
import { makedev } from "../sys/devnum";
import { MS } from "./mount-options";
import { mkdirAllInRoot, resolveRelative, symlinkInRoot, touchInRoot } from "./path";
import { withPinned, type MountContext } from "./mounts";
import { changeMode, changeOwner, pathExists, statAtIfExists, statPath, type FileStat } from "../sys/files";
import { O } from "../sys/arch";

export const DEFAULT_DEVICES: Device[] = [
  { type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

export const DEFAULT_SYMLINKS: [string, string][] = [
  ["/proc/self/fd", "/dev/fd"],
  ["/proc/self/fd/0", "/dev/stdin"],
  ["/proc/self/fd/1", "/dev/stdout"],
  ["/proc/self/fd/2", "/dev/stderr"],
  ["pts/ptmx", "/dev/ptmx"],
];

const S_IF: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

export function createDevice(ctx: MountContext, d: Device): void {
  const rel = resolveRelative(ctx.rootfs, d.path);
  mkdirAllInRoot(ctx.rootFd, dirname(rel), 0o755, ctx.sys); // below the pinned rootfs, never through a host path
  const mode = d.fileMode ?? 0o666;
  if (!ctx.inUserNs) {
    // In the parent opened in the root: a parent swapped for a symlink meanwhile (a racing
    // writer of a rootfs's own /dev) cannot lead the node out, as a host path could.
    const made = inParentDir(ctx, rel, (dirFd, name) => {
      const existing = statAtIfExists(dirFd, name, d.path);
      if (existing) return (checkExisting(existing, d), false); // already a node (e.g. the rootfs ships it): keep it
      ctx.sys.mknodat(dirFd, name, (S_IF[d.type] ?? 0) | (mode & 0o7777), d.type === "p" ? 0n : makedev(d.major ?? 0, d.minor ?? 0), d.path);
      return true;
    });
    // Through a pinned fd: chmod and chown follow symlinks, and must not follow one out.
    if (made) withPinned(ctx, rel, (t) => {
      changeMode(t, mode & 0o7777); // not subject to umask
      changeOwner(t, d.uid ?? 0, d.gid ?? 0);
    });
    return;
  }
  // User namespace: bind the host's node over an empty file.
  if (!pathExists(d.path)) throw new Error(`linux.devices: ${d.path}: cannot create device nodes in a user namespace and the host has none to bind`);
  const existing = statPath(join(ctx.rootfs, rel), { follow: false, missingOk: true });
  if (existing) checkExisting(existing, d);
  else touchInRoot(ctx.rootFd, rel, 0o644, ctx.sys);
  withPinned(ctx, rel, (t) => ctx.sys.mount(d.path, t, null, MS.BIND, null));
}

function checkExisting(existing: FileStat, d: Device): void {
  if (!existing.isFile() && !existing.isCharacterDevice() && !existing.isBlockDevice() && !existing.isFIFO())
    throw new Error(`linux.devices: ${d.path} exists and is not a device`);
}

/** fn with an O_PATH fd of the directory holding `rel` (opened in the root) and the last name. */
function inParentDir<T>(ctx: MountContext, rel: string, fn: (dirFd: number, name: string) => T): T {
  const dirFd = ctx.sys.openInRoot(ctx.rootFd, dirname(rel), O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    return fn(dirFd, rel.slice(rel.lastIndexOf("/") + 1));
  } finally {
    ctx.sys.close(dirFd);
  }
}

export function setupDev(ctx: MountContext, devices: Device[] = []): void {
  for (const d of DEFAULT_DEVICES) createDevice(ctx, d);
  // Made in /dev, not through a symlink already at the name (a rootfs's own /dev keeps the
  // ones of a run before: following /dev/fd there led to the host's /proc/self).
  for (const [target, link] of DEFAULT_SYMLINKS) {
    try {
      symlinkInRoot(ctx.rootFd, link.slice(1), target, ctx.sys);
    } catch (e) {
      throw withContext(`/dev: symlink ${link}`, e);
    }
  }
  if (pathExists("/proc/kcore")) symlinkInRoot(ctx.rootFd, "dev/core", "/proc/kcore", ctx.sys);
  for (const dir of ["/dev/pts", "/dev/shm"]) mkdirAllInRoot(ctx.rootFd, resolveRelative(ctx.rootfs, dir), 0o755, ctx.sys);
  for (const d of devices) createDevice(ctx, d);
}
