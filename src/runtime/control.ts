// Operations on a running container's cgroup: pause/resume (freezer), ps, update and
// events (runc's JSON).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { BuncError } from "./errors";
import { withContainer } from "./lifecycle";
import { containerCgroups, effectiveResources, type Warn } from "./cgroups";
import { LinuxResourcesSchema, type CgroupManager, type LinuxResources } from "../linux/cgroups";
import { formatIssue } from "../spec/parse";
import { loadContainer, type Container } from "./state";

function cgroupsOf(c: Container, warn?: Warn): CgroupManager {
  const cg = containerCgroups(c.state, warn);
  if (!cg) throw new BuncError(`container ${c.id} has no cgroup of its own (rootless, no delegated cgroup tree): nothing to freeze, limit or list`);
  return cg;
}

export function pauseContainer(root: string, id: string): void {
  withContainer(root, id, (c) => {
    const s = c.status();
    if (s !== "running" && s !== "created") throw new BuncError(`cannot pause a container that is ${s}`);
    cgroupsOf(c).freeze();
  });
}

export function resumeContainer(root: string, id: string): void {
  withContainer(root, id, (c) => {
    const s = c.status();
    if (s !== "paused") throw new BuncError(`cannot resume a container that is ${s}`);
    cgroupsOf(c).thaw();
  });
}

/** The container's processes (host PIDs), init included even before it joined every hierarchy. */
export function containerPids(root: string, id: string): number[] {
  return withContainer(root, id, (c) => {
    if (c.status() === "stopped") return [];
    const pids = new Set(containerCgroups(c.state)?.pids() ?? []);
    pids.add(c.pid);
    return [...pids].sort((a, b) => a - b);
  });
}

export interface ProcInfo {
  pid: number; ppid: number; uid: number; user: string; comm: string; cmd: string; stat: string; rss: number; vsz: number; nlwp: number;
  /** Clock ticks: CPU time used (user + system) and start time since boot; tty_nr of /proc/<pid>/stat. */
  cpuTicks: number; startTicks: number; ttyNr: number;
}

/** One process as ps(1) would show it, read from /proc (bunc runs no ps). */
export function procInfo(pid: number, users: Map<number, string> = new Map()): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const uid = Number(status.match(/^Uid:\s+(\d+)/m)?.[1] ?? -1);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ") || `[${comm}]`;
    return {
      pid, ppid: Number(f[1]), uid, user: users.get(uid) ?? String(uid), comm, cmd, stat: f[0]!,
      vsz: Math.round(Number(f[20]) / 1024), rss: Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0), nlwp: Number(f[17]),
      cpuTicks: Number(f[11]) + Number(f[12]), startTicks: Number(f[19]), ttyNr: Number(f[4]),
    };
  } catch {
    return undefined;
  }
}

/** uid -> name from the host's /etc/passwd (as ps shows it). */
export function hostUsers(): Map<number, string> {
  const m = new Map<number, string>();
  try {
    for (const l of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = l.split(":");
      if (f.length > 2) m.set(Number(f[2]), f[0]!);
    }
  } catch {}
  return m;
}

/** Merges runc-style update flags (or a resources.json) into the container's resources and applies them. */
export function updateContainer(root: string, id: string, patch: unknown, warn?: Warn): void {
  withContainer(root, id, (c) => {
    if (c.status() === "stopped") throw new BuncError(`cannot update a stopped container`);
    const current = (c.state.config.linux.resources ?? {}) as Record<string, any>;
    const merged: Record<string, any> = { ...current };
    for (const [k, val] of Object.entries(patch as Record<string, any>)) {
      merged[k] = val && typeof val === "object" && !Array.isArray(val) ? { ...(current[k] ?? {}), ...val } : val;
    }
    // An unlimited memory limit lifts the stored memory+swap limit too (runc): a swap limit
    // below the memory limit is refused by the kernel.
    const p = patch as Record<string, any>;
    if (p.memory?.limit === -1 && p.memory.swap === undefined && merged.memory?.swap !== undefined) merged.memory = { ...merged.memory, swap: -1 };
    const r = v.safeParse(LinuxResourcesSchema, merged);
    if (!r.success) throw new BuncError(`invalid resources: ${formatIssue(r.issues[0])}`);
    const next = { ...c.state.config, linux: { ...c.state.config.linux, resources: r.output } };
    cgroupsOf(c, warn).apply(effectiveResources(next as any) as LinuxResources);
    c.state.config = next as any;
    c.save();
  });
}

export function statsEvent(root: string, id: string) {
  return withContainer(root, id, (c) => {
    if (c.status() === "stopped") throw new BuncError(`container ${id} is not running`);
    return { type: "stats", id, data: cgroupsOf(c).stats() };
  });
}

/** How many processes of the container the kernel OOM-killed so far (runc's "oom" events). */
export function oomKills(root: string, id: string): number {
  const paths = loadContainer(root, id).state.cgroupPaths ?? {};
  const files = [paths.memory && join(paths.memory, "memory.oom_control"), paths[""] && join(paths[""], "memory.events")];
  for (const f of files) {
    if (!f) continue;
    try {
      return Number(readFileSync(f, "utf8").match(/^oom_kill (\d+)$/m)?.[1] ?? 0);
    } catch {}
  }
  return 0;
}
