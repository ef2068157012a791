// Reading extended attributes and a symlink's target by path or fd (writing them is RootDir's).
import { cstr, libc, ptr } from "./libc";

/** The xattr names of `path` (its last symlink followed: /proc/self/fd/N names the fd's file). */
export function listXattrs(path: string): string[] {
  const buf = new Uint8Array(64 * 1024);
  const n = Number(libc.listxattr(ptr(cstr(path)), ptr(buf), BigInt(buf.length)));
  if (n <= 0) return [];
  return new TextDecoder().decode(buf.subarray(0, n)).split("\0").filter(Boolean);
}

/** The value of xattr `name` of `path`; undefined when it has none. */
export function getXattr(path: string, name: string): Uint8Array | undefined {
  const buf = new Uint8Array(64 * 1024);
  const n = Number(libc.getxattr(ptr(cstr(path)), ptr(cstr(name)), ptr(buf), BigInt(buf.length)));
  return n < 0 ? undefined : buf.slice(0, n);
}

/** The target of the symlink an O_PATH|O_NOFOLLOW `fd` is open on; undefined when it is none. */
export function readlinkFd(fd: number): string | undefined {
  const buf = new Uint8Array(4096);
  const n = Number(libc.readlinkat(fd, ptr(cstr("")), ptr(buf), BigInt(buf.length)));
  return n < 0 ? undefined : new TextDecoder().decode(buf.subarray(0, n));
}
