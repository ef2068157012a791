// How a binary's pages came into the page cache, made the same for every binary measured.
//
// Measured here (kernel 6.18, ext4): a file whose cache was filled by read(2) or by the write
// that created it is cached in large folios, and a page fault maps many pages at once; a file
// whose cache was filled by page faults (an executable's first run after a reboot, or after its
// pages were evicted) is cached page by page. The same bunc binary then takes ~1.2 ms longer
// per command (`--version` 6.1 against 4.9 ms CPU; `bun -e 0` 5.1 against 4.0) and holds ~5 MiB
// less RSS (24 against 30 MiB), for every runtime alike. So the bench snapshots each binary and
// puts every snapshot in one stated state, instead of comparing whatever state each was in.
import { dlopen } from "bun:ffi";
import { chmodSync, closeSync, copyFileSync, openSync, readSync } from "node:fs";

const POSIX_FADV_DONTNEED = 4;
const libc = dlopen("libc.so.6", {
  posix_fadvise: { args: ["i32", "i64", "i64", "i32"], returns: "i32" },
  fdatasync: { args: ["i32"], returns: "i32" },
}).symbols;

/** Drops the file's clean pages from the page cache (written back first). */
function evict(path: string): void {
  const fd = openSync(path, "r");
  try {
    libc.fdatasync(fd);
    const rc = libc.posix_fadvise(fd, 0n, 0n, POSIX_FADV_DONTNEED);
    if (rc !== 0) throw new Error(`posix_fadvise(${path}): error ${rc}`);
  } finally {
    closeSync(fd);
  }
}

function readAll(path: string): void {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

export type CacheState = "read" | "faulted";

/**
 * A copy of `src` at `dest` whose page cache is in `state`: "read" (read(2) after eviction:
 * as right after an install or download) or "faulted" (evicted, then filled by running
 * `firstRun` once: as after a reboot).
 */
export function snapshotBinary(src: string, dest: string, state: CacheState, firstRun: string[]): string {
  copyFileSync(src, dest);
  chmodSync(dest, 0o755);
  evict(dest);
  if (state === "read") readAll(dest);
  else Bun.spawnSync({ cmd: [dest, ...firstRun], stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  return dest;
}
