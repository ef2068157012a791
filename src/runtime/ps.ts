// `ps`: the container's processes, and each one as ps(1) would show it, read from /proc
// (bunc runs no ps).
import { readText } from "../sys/files";
import { parsePasswd, readPasswd } from "../linux/passwd";
import { readProcStat, withContainer } from "./state";
import { allows } from "./status";
import { containerCgroups } from "./cgroups";
import type { RuntimeContext } from "./context";

/** The container's processes (host PIDs), init included even before it joined every hierarchy. */
export function containerPids(ctx: RuntimeContext, id: string): number[] {
  return withContainer(ctx.root, id, (c) => {
    if (!allows("ps", c.status())) return [];
    const pids = new Set(containerCgroups(c.state, ctx.log.warn)?.pids() ?? []);
    pids.add(c.pid);
    return [...pids].sort((a, b) => a - b);
  });
}

export interface ProcInfo {
  pid: number; ppid: number; uid: number; user: string; comm: string; cmd: string; stat: string; rss: number; vsz: number; nlwp: number;
  /** Clock ticks: CPU time used (user + system) and start time since boot; tty_nr of /proc/<pid>/stat. */
  cpuTicks: number; startTicks: number; ttyNr: number;
}

/** One process as ps(1) would show it; undefined once it is gone. */
export function procInfo(pid: number, users: Map<number, string> = new Map()): ProcInfo | undefined {
  const st = readProcStat(pid);
  if (!st) return undefined;
  try {
    const status = readText(`/proc/${pid}/status`);
    const uid = Number(status.match(/^Uid:\s+(\d+)/m)?.[1] ?? -1);
    const cmd = readText(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).join(" ") || `[${st.comm}]`;
    return {
      pid, ppid: st.ppid, uid, user: users.get(uid) ?? String(uid), comm: st.comm, cmd, stat: st.state,
      vsz: Math.round(st.vsizeBytes / 1024), rss: Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0), nlwp: st.threads,
      cpuTicks: st.cpuTicks, startTicks: Number(st.startTime), ttyNr: st.ttyNr,
    };
  } catch {
    return undefined;
  }
}

/** uid -> name from the host's /etc/passwd (as ps shows it: the first entry of a uid). */
export function hostUsers(): Map<number, string> {
  const m = new Map<number, string>();
  for (const e of parsePasswd(readPasswd())) if (!m.has(e.uid)) m.set(e.uid, e.name);
  return m;
}
