// bunc's own binary, as the container's init and exec processes run it. Before Bun
// starts and makes itself non-dumpable, a process in the container could open
// /proc/<pid>/exe: so the binary is executed from a detached read-only bind mount of
// itself (runc 1.2 does the same against CVE-2019-5736) and cannot be written through it.
import { O } from "./arch";
import { mountSetattr, openTree } from "./mount-api";
import { closeFd, openPath } from "./files";

const MOUNT_ATTR_RDONLY = 1n;

/** An fd to execveat (AT_EMPTY_PATH) bunc with; read-only when the kernel allows it. */
export function openSelfForExec(): { fd: number; sealed: boolean } {
  // No new mount API (or no privilege for it): the binary itself, by fd.
  const unsealed = () => ({ fd: openPath("/proc/self/exe", O.CLOEXEC), sealed: false });
  let tree: number;
  try {
    tree = openTree("/proc/self/exe");
  } catch {
    return unsealed();
  }
  try {
    mountSetattr(tree, "", { set: MOUNT_ATTR_RDONLY });
    return { fd: tree, sealed: true };
  } catch {
    closeFd(tree);
    return unsealed();
  }
}
