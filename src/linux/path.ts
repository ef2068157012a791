// Resolving container paths inside the rootfs. Symlinks in the rootfs are untrusted:
// they are followed as if the rootfs were "/", never out of it (as securejoin does).
import { lstatSync, readlinkSync } from "node:fs";
import { ptr } from "bun:ffi";
import { cstr, errno, SYS, syscall, SyscallError } from "../sys/libc";

export interface PathFs {
  lstat(path: string): { isSymbolicLink(): boolean } | undefined;
  readlink(path: string): string;
}

const realFs: PathFs = {
  lstat: (p) => lstatSync(p, { throwIfNoEntry: false }),
  readlink: (p) => readlinkSync(p),
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

const O_PATH = 0o10000000, O_CLOEXEC = 0o2000000;
const RESOLVE_NO_MAGICLINKS = 0x02n, RESOLVE_IN_ROOT = 0x10n;

/**
 * Opens `relative` below the directory fd `rootFd` with the kernel enforcing that the
 * walk stays inside it (openat2 RESOLVE_IN_ROOT): a symlink swapped in after
 * resolveInRoot still cannot lead out.
 */
export function openInRoot(rootFd: number, relative: string, flags = O_PATH | O_CLOEXEC): number {
  const how = new BigUint64Array([BigInt(flags), 0n, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS]);
  const path = cstr(relative === "" ? "." : relative);
  const fd = Number(syscall(SYS.openat2, rootFd, ptr(path), ptr(how), 24));
  if (fd < 0) throw new SyscallError("openat2", errno(), relative);
  return fd;
}
