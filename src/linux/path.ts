// Resolving container paths inside the rootfs. Symlinks in the rootfs are untrusted:
// they are followed as if the rootfs were "/", never out of it (as securejoin does).
import { SyscallError } from "../sys/libc";
import { O } from "../sys/arch";
import { linuxSyscalls, type Syscalls } from "../sys/syscalls";
import { readLink, statPath } from "../sys/files";

export interface PathFs {
  lstat(path: string): { isSymbolicLink(): boolean } | undefined;
  readlink(path: string): string;
}

const realFs: PathFs = {
  lstat: (p) => statPath(p, { follow: false, missingOk: true }),
  readlink: (p) => readLink(p),
};

/** The host path of `unsafe` (a path inside the container) below `root`, symlinks resolved inside root. */
export function resolveInRoot(root: string, unsafe: string, fs: PathFs = realFs): string {
  return join(root, resolveRelative(root, unsafe, fs));
}

/** Like resolveInRoot, but returns the path relative to root ("" for root itself). */
export function resolveRelative(root: string, unsafe: string, fs: PathFs = realFs): string {
  const queue = unsafe.split("/");
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (queue.length) {
    const part = queue.shift()!;
    if (part === "" || part === ".") continue;
    if (part === "..") { done.pop(); continue; }
    if (missing) { done.push(part); continue; }
    const candidate = join(root, done.join("/"), part);
    const st = fs.lstat(candidate);
    if (!st) { missing = true; done.push(part); continue; }
    if (!st.isSymbolicLink()) { done.push(part); continue; }
    if (++links > 255) throw new SyscallError("resolve", 40 /* ELOOP */, unsafe);
    const target = fs.readlink(candidate);
    if (target.startsWith("/")) done.length = 0;
    queue.unshift(...target.split("/"));
  }
  return done.join("/");
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/") || "/";
}

// Below rootFd every open goes through sys.openInRoot (openat2 RESOLVE_IN_ROOT, sys/openat2.ts):
// a symlink swapped in after resolveInRoot still cannot lead out.

const ENOENT = 2, EEXIST = 17;
const isErrno = (e: unknown, n: number) => e instanceof SyscallError && e.errno === n;

/** An fd of `relative` below rootFd, or undefined when it does not exist. */
function openIfExists(sys: Syscalls, rootFd: number, relative: string, flags?: number): number | undefined {
  return sys.openInRootIfExists(rootFd, relative, flags);
}

/** Whether `relative` exists below rootFd (its symlinks followed inside the root). */
export function existsInRoot(sys: Syscalls, rootFd: number, relative: string): boolean {
  const fd = openIfExists(sys, rootFd, relative);
  if (fd === undefined) return false;
  sys.close(fd);
  return true;
}

/**
 * mkdir -p of `relative` below rootFd. Each missing directory is made with mkdirat in a
 * parent opened with RESOLVE_IN_ROOT, never through a host path: a symlink swapped in
 * the rootfs meanwhile cannot make bunc create anything outside it (CVE-2024-45310).
 * The deepest existing level is found from the end (a mount point usually exists, or only
 * its last level is missing): one openat2 per level tried instead of one per level.
 */
export function mkdirAllInRoot(rootFd: number, relative: string, mode = 0o755, sys: Syscalls = linuxSyscalls): void {
  const parts = relative.split("/").filter(Boolean);
  let have = parts.length;
  let dirFd = openIfExists(sys, rootFd, relative);
  while (dirFd === undefined && have > 0) dirFd = openIfExists(sys, rootFd, parts.slice(0, --have).join("/"), O.PATH | O.DIRECTORY | O.CLOEXEC);
  if (have === parts.length) return void sys.close(dirFd!);
  for (let i = have; ; i++) {
    const prefix = parts.slice(0, i + 1).join("/");
    try {
      try {
        sys.mkdirat(dirFd!, parts[i]!, mode, prefix);
      } catch (e) {
        if (!isErrno(e, EEXIST)) throw e;
      }
    } finally {
      sys.close(dirFd!);
    }
    if (i === parts.length - 1) return;
    dirFd = sys.openInRoot(rootFd, prefix, O.PATH | O.DIRECTORY | O.CLOEXEC);
  }
}

/**
 * Makes the last level of `relative` when its parent exists and nothing, not even a dangling
 * symlink, is at that name (mkdirat and O_CREAT|O_EXCL follow no symlink in the last
 * level): the mount points bunc adds to a directory it just mounted (the cgroup
 * hierarchies). False when that is not the case, and nothing was made.
 */
export function makeLeafInRoot(sys: Syscalls, rootFd: number, relative: string, asFile: boolean): boolean {
  const parts = relative.split("/").filter(Boolean);
  const name = parts.pop();
  if (!name || name === "." || name === "..") return false;
  const dirFd = openIfExists(sys, rootFd, parts.join("/"), O.PATH | O.DIRECTORY | O.CLOEXEC);
  if (dirFd === undefined) return false;
  try {
    if (asFile) sys.close(sys.openat(dirFd, name, O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0o644, relative));
    else sys.mkdirat(dirFd, name, 0o755, relative);
    return true;
  } catch (e) {
    if (isErrno(e, EEXIST)) return false;
    throw e;
  } finally {
    sys.close(dirFd);
  }
}

/** Runs fn with an O_PATH fd of the directory `relative` below rootFd (kernel-confined) and the last component's name. */
function inParent<T>(sys: Syscalls, rootFd: number, relative: string, fn: (dirFd: number, name: string) => T): T {
  const parts = relative.split("/").filter(Boolean);
  const dirFd = sys.openInRoot(rootFd, parts.slice(0, -1).join("/"), O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    return fn(dirFd, parts[parts.length - 1] ?? ".");
  } finally {
    sys.close(dirFd);
  }
}

/**
 * A symlink at `relative` below rootFd with the text `target`, made in its parent opened in
 * the root (symlinkat follows no symlink in the last level), unless something is there
 * already, a symlink included (as runc: a second run on the same rootfs finds its own).
 */
export function symlinkInRoot(rootFd: number, relative: string, target: string, sys: Syscalls = linuxSyscalls): void {
  inParent(sys, rootFd, relative, (dirFd, name) => {
    try {
      sys.symlinkat(target, dirFd, name, relative);
    } catch (e) {
      if (!isErrno(e, EEXIST)) throw e;
    }
  });
}

/** Creates an empty file at `relative` below rootFd (and its parents) unless something is there already. */
export function touchInRoot(rootFd: number, relative: string, mode = 0o644, sys: Syscalls = linuxSyscalls): void {
  if (existsInRoot(sys, rootFd, relative)) return;
  const parts = relative.split("/").filter(Boolean);
  mkdirAllInRoot(rootFd, parts.slice(0, -1).join("/"), 0o755, sys);
  inParent(sys, rootFd, relative, (dirFd, name) => {
    try {
      sys.close(sys.openat(dirFd, name, O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, mode, relative));
    } catch (e) {
      if (!isErrno(e, EEXIST)) throw e;
    }
  });
}
