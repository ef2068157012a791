// A run's writable root: an overlay of the run's own upper and work directories over read-only
// trees (a cached rootfs, an image's layers, top layer first as overlayfs orders them). The
// upper is thrown away after the run, so it is mounted `volatile` (Linux 5.10): without it the
// last unmount syncs the whole filesystem under the upper directory, which on a busy host took
// 30-40 ms of every one-shot. The mount options must fit in a page: past that, the trees are
// named by /proc/self/fd links of this process, which overlayfs resolves at mount time.
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { Syscalls } from "../sys/syscalls";
import { O } from "../sys/arch";

const MAX_OPTIONS = 3800; // of the 4096 bytes the kernel copies, with room for upperdir/workdir

export function overlayView(trees: string[], scratch: string): { rootfs: string; undo: () => void } {
  const dirs = overlayDirs(scratch);
  const top = [...trees].reverse();
  const fds: number[] = [];
  try {
    let lower = top.join(":");
    if (lower.length + dirs.upper.length + dirs.work.length > MAX_OPTIONS) {
      for (const t of top) fds.push(openSync(t, O.PATH | O.DIRECTORY | O.CLOEXEC));
      lower = fds.map((fd) => `/proc/self/fd/${fd}`).join(":");
    }
    const { LinuxSyscalls } = require("../sys/syscalls") as typeof import("../sys/syscalls");
    return { rootfs: dirs.merged, undo: mountScratchOverlay(new LinuxSyscalls(), lower, dirs) };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

export interface OverlayDirs { merged: string; upper: string; work: string }

/** merged/, upper/ and work/ in `scratch`, made. */
export function overlayDirs(scratch: string): OverlayDirs {
  const d = { merged: join(scratch, "merged"), upper: join(scratch, "upper"), work: join(scratch, "work") };
  for (const p of Object.values(d)) mkdirSync(p, { recursive: true });
  return d;
}

/** Mounts the overlay (volatile where the kernel knows it); returns how to unmount it. */
export function mountScratchOverlay(sys: Syscalls, lowerdir: string, d: OverlayDirs): () => void {
  const options = `lowerdir=${lowerdir},upperdir=${d.upper},workdir=${d.work}`;
  try {
    sys.mount("overlay", d.merged, "overlay", 0n, `${options},volatile`);
  } catch (e) {
    // Before 5.10 overlayfs refuses an option it does not know.
    if ((e as { code?: string })?.code !== "EINVAL") throw e;
    sys.mount("overlay", d.merged, "overlay", 0n, options);
  }
  return () => {
    try {
      sys.umount2(d.merged, 2 /* MNT_DETACH */);
    } catch {}
  };
}
