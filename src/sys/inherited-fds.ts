// The fds bunc's caller handed it: all that --preserve-fds and LISTEN_FDS may pass on.
// In 3..3+N-1 a slot the caller left free is taken by Bun's runtime (an eventpoll and an
// eventfd, opened before bunc's first line) or by bunc itself (its state directory, memfds):
// passing those would hand the container a host directory (the CVE-2024-21626 class). So
// the open fds are noted once at start, before bunc opens any, and Bun's two told by kind.

const BUN_OWN = new Set(["anon_inode:[eventpoll]", "anon_inode:[eventfd]"]);
let noted: Set<number> | undefined;

/** Called first thing by the CLI when fds may be passed on (cheap: one readdir of /proc/self/fd). */
export function noteInheritedFds(): void {
  noted ??= openFds();
}

function openFds(): Set<number> {
  // node:fs only when fds are passed on: loading it costs every command ~0.9 ms.
  const { readdirSync, readlinkSync } = require("node:fs") as typeof import("node:fs");
  const fds = new Set<number>();
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    if (fd < 3) continue;
    try {
      if (!BUN_OWN.has(readlinkSync(`/proc/self/fd/${name}`))) fds.add(fd);
    } catch {} // the directory's own fd, closed by now
  }
  return fds;
}

/** Of fds 3..3+n-1, those the caller had open (a library caller: those open now). */
export function inheritedFds(n: number): number[] {
  if (n <= 0) return []; // nothing to pass on: no look at /proc/self/fd
  const have = noted ?? openFds();
  const out: number[] = [];
  for (let fd = 3; fd < 3 + n; fd++) if (have.has(fd)) out.push(fd);
  return out;
}
