// Process helpers for scripts/bench.ts: waiting for a process that is not our child (pidfd),
// and the memory a process holds (/proc/<pid>/smaps_rollup).
import { dlopen, ptr } from "bun:ffi";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { cgroupDirs } from "../cgroup-dirs";

const SYS_pidfd_open = 434; // same number on x86_64 and arm64

const libc = dlopen(process.platform === "linux" ? "libc.so.6" : "libc.dylib", {
  syscall: { args: ["i64", "i64", "i64"], returns: "i64" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
}).symbols;

/** A pidfd for `pid`, or -1 when it is already gone. */
export function pidfdOpen(pid: number): number {
  return Number(libc.syscall(BigInt(SYS_pidfd_open), BigInt(pid), 0n));
}

/** Block until the process behind `fd` exits (or timeoutMs passes); closes fd. Returns false on timeout. */
export function pidfdWait(fd: number, timeoutMs = 10_000): boolean {
  if (fd < 0) return true;
  try {
    const pfd = new Int32Array([fd, 1 /* POLLIN */]);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const left = Math.max(0, Math.ceil(deadline - performance.now()));
      const n = libc.poll(ptr(pfd), 1n, left);
      if (n > 0) return true;
      if (n === 0) return false;
      // EINTR: retry
    }
  } finally {
    libc.close(fd);
  }
}

export interface MemoryHeld {
  rssKiB: number;
  pssKiB: number;
  anonKiB: number;
  processes: number;
}

function rollup(pid: number): { rss: number; pss: number; anon: number } | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const get = (k: string) => Number(t.match(new RegExp(`^${k}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
    return { rss: get("Rss"), pss: get("Pss"), anon: get("Anonymous") };
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {}
  }
  return out;
}

/** RSS/PSS/anonymous memory of `pid` and all its descendants. */
export function memoryHeld(pid: number): MemoryHeld {
  const m: MemoryHeld = { rssKiB: 0, pssKiB: 0, anonKiB: 0, processes: 0 };
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    const r = rollup(p);
    if (!r) continue;
    m.rssKiB += r.rss;
    m.pssKiB += r.pss;
    m.anonKiB += r.anon;
    m.processes++;
    todo.push(...childrenOf(p));
  }
  return m;
}

/** How a process's RSS divides: the executable's code, read-only data and data (.data, and Bun's
 * module section), anonymous memory, shared libraries. */
export const RSS_KINDS = ["binary code (r-xp)", "binary read-only data (r--p)", "binary data, bunc's modules (rw-p)", "anonymous (heaps, stacks)", "shared libraries", "other"] as const;
export type RssKind = (typeof RSS_KINDS)[number];

/** RSS (KiB) per kind of mapping, from /proc/PID/smaps text; `binary` is the executable's path. */
export function rssByKind(smaps: string, binary: string): Record<RssKind, number> {
  const out = Object.fromEntries(RSS_KINDS.map((k) => [k, 0])) as Record<RssKind, number>;
  let kind: RssKind = "other";
  for (const line of smaps.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [, perms, name] = head as unknown as [string, string, string];
      kind = name === binary ? (perms.includes("x") ? "binary code (r-xp)" : perms.includes("w") ? "binary data, bunc's modules (rw-p)" : "binary read-only data (r--p)")
        : name === "" || name.startsWith("[heap]") || name.startsWith("[stack") || name.startsWith("[anon") ? "anonymous (heaps, stacks)"
        : /\.so(\.|$)/.test(name) ? "shared libraries" : "other";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]);
  }
  return out;
}

/** The v1 memory cgroup (or v2 path) of a process, as seen from our cgroup namespace. */
export function memoryCgroupLimit(pid: number): { path: string; limit: number | null } | undefined {
  try {
    const lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
    const v1 = lines.find((l) => l.split(":")[1]?.split(",").includes("memory"));
    if (v1) {
      const path = v1.split(":").slice(2).join(":");
      const f = `/sys/fs/cgroup/memory${path}/memory.limit_in_bytes`;
      return { path, limit: existsSync(f) ? Number(readFileSync(f, "utf8").trim()) : null };
    }
    const v2 = lines.find((l) => l.startsWith("0::"));
    if (v2) {
      const path = v2.slice(3);
      const f = `/sys/fs/cgroup${path}/memory.max`;
      const v = existsSync(f) ? readFileSync(f, "utf8").trim() : null;
      return { path, limit: v === null || v === "max" ? null : Number(v) };
    }
  } catch {}
  return undefined;
}

/** Directories under /sys/fs/cgroup (depth <= 4) whose name contains `needle`. */
export function cgroupLeftovers(needle: string): string[] {
  return cgroupDirs((n) => n.includes(needle), 4);
}
