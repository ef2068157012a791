// A run's writable root over an image's cached layers: one overlay mount with the layer trees
// as lower directories (top layer first, as overlayfs orders them) and the run's own upper
// and work directories. The mount options must fit in a page: past that, the trees are named
// by /proc/self/fd links of this process, which overlayfs resolves at mount time.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { LinuxSyscalls } from "../sys/syscalls";
import { O } from "../sys/arch";

const MAX_OPTIONS = 3800; // of the 4096 bytes the kernel copies, with room for upperdir/workdir

export function overlayView(trees: string[], scratch: string): { rootfs: string; undo: () => void } {
  const merged = join(scratch, "merged"), upper = join(scratch, "upper"), work = join(scratch, "work");
  for (const d of [merged, upper, work]) mkdirSync(d, { recursive: true });
  const top = [...trees].reverse();
  const fds: number[] = [];
  try {
    let lower = top.join(":");
    if (lower.length + upper.length + work.length > MAX_OPTIONS) {
      for (const t of top) fds.push(openSync(t, O.PATH | O.DIRECTORY | O.CLOEXEC));
      lower = fds.map((fd) => `/proc/self/fd/${fd}`).join(":");
    }
    const sys = new LinuxSyscalls();
    sys.mount("overlay", merged, "overlay", 0n, `lowerdir=${lower},upperdir=${upper},workdir=${work}`);
    return { rootfs: merged, undo: () => { try { sys.umount2(merged, 2 /* MNT_DETACH */); } catch {} } };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
