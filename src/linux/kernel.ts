// The oldest kernel bunc runs on, and why: checked where a container is made or entered, so an
// older one fails with one line instead of an ENOSYS from somewhere deep.
//   5.2  fsopen/fsmount/move_mount/open_tree: proc for the container's PID namespace, binds
//   5.6  openat2(RESOLVE_IN_ROOT): every path below a rootfs (mount targets, /dev, a pty) resolved in it
//   5.7  clone3(CLONE_INTO_CGROUP): the init born in its cgroup2 cgroup
// Newer calls have fallbacks or belong to one feature: pidfd_open (5.3, --pidfd-socket),
// CLOSE_RANGE_CLOEXEC (5.11), mount_setattr (5.12: idmapped mounts, rro & co, a read-only self-exe).
import { readText } from "../sys/files";
import { BuncError } from "../sys/errors";

export const KERNEL_FLOOR = [5, 7] as const;

// The release from procfs, not node:os (~0.3 ms to load for one string).
const release = () => readText("/proc/sys/kernel/osrelease").trim();

/** Throws one line naming what is missing when `rel` (uname -r) is below the floor. */
export function requireKernel(rel: string = release()): void {
  const [major = 0, minor = 0] = rel.split(/[.-]/).map(Number);
  if (major > KERNEL_FLOOR[0] || (major === KERNEL_FLOOR[0] && minor >= KERNEL_FLOOR[1])) return;
  throw new BuncError(`bunc needs Linux ${KERNEL_FLOOR.join(".")} or later, this is ${rel}: openat2 (5.6) confines every path to the container's root, clone3 (5.7) starts the init in its cgroup`);
}
