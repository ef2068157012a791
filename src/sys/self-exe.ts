// bunc's own binary, as the container's init and exec processes run it. Before Bun
// starts and makes itself non-dumpable, a process in the container could open
// /proc/<pid>/exe: so the binary is executed from a detached read-only bind mount of
// itself (runc 1.2 does the same against CVE-2019-5736) and cannot be written through it.
import { O } from "./arch";
import { mountSetattr, openTree } from "./mount-api";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const MOUNT_ATTR_RDONLY = 1n;

/** An fd to execveat (AT_EMPTY_PATH) bunc with; read-only when the kernel allows it. */
export function openSelfForExec(): { fd: number; sealed: boolean } {
  // No new mount API (or no privilege for it): the binary itself, by fd.
  const unsealed = () => ({ fd: nodeFs().openSync("/proc/self/exe", O.CLOEXEC), sealed: false });
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
    nodeFs().closeSync(tree);
    return unsealed();
  }
}
