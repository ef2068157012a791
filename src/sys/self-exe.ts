// bunc's own binary, as the container's init and exec processes run it. Before Bun
// starts and makes itself non-dumpable, a process in the container could open
// /proc/<pid>/exe: so the binary is executed from a detached read-only bind mount of
// itself (runc 1.2 does the same against CVE-2019-5736) and cannot be written through it.
import { openSync } from "node:fs";
import { ptr } from "bun:ffi";
import { cstr, syscall, SYS } from "./libc";

const AT_FDCWD = -100, OPEN_TREE_CLONE = 1, O_CLOEXEC = 0o2000000, AT_EMPTY_PATH = 0x1000, MOUNT_ATTR_RDONLY = 1n;

/** An fd to execveat (AT_EMPTY_PATH) bunc with; read-only when the kernel allows it. */
export function openSelfForExec(): { fd: number; sealed: boolean } {
  const tree = Number(syscall(SYS.open_tree, AT_FDCWD, ptr(cstr("/proc/self/exe")), OPEN_TREE_CLONE | O_CLOEXEC));
  if (tree >= 0) {
    const attr = new BigUint64Array([MOUNT_ATTR_RDONLY, 0n, 0n, 0n]);
    if (syscall(SYS.mount_setattr, tree, ptr(cstr("")), AT_EMPTY_PATH, ptr(attr), 32) === 0n) return { fd: tree, sealed: true };
    require("node:fs").closeSync(tree);
  }
  // No new mount API (or no privilege for it): the binary itself, by fd.
  return { fd: openSync("/proc/self/exe", O_CLOEXEC), sealed: false };
}
