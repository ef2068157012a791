// Runtime spec 1.3 process attributes the native init applies: process.scheduler
// (sched_setattr), process.ioPriority (ioprio_set), process.execCPUAffinity
// (sched_setaffinity), linux.personality and linux.memoryPolicy (set_mempolicy). Checked
// here at create against this host, so a bad value fails `create` with its JSON path.
import type { Config, Process } from "../spec/schema";
import type { RequestValues } from "../sys/native-request";
import { readText } from "../sys/files";

const POLICY = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 } as const;
const SCHED_FLAG = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
} as const;
const IOPRIO_CLASS = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 } as const;
const MPOL = { MPOL_DEFAULT: 0, MPOL_PREFERRED: 1, MPOL_BIND: 2, MPOL_INTERLEAVE: 3, MPOL_LOCAL: 4, MPOL_PREFERRED_MANY: 5, MPOL_WEIGHTED_INTERLEAVE: 6 } as const;
const MPOL_FLAG = { MPOL_F_STATIC_NODES: 1 << 15, MPOL_F_RELATIVE_NODES: 1 << 14, MPOL_F_NUMA_BALANCING: 1 << 13 } as const;
const PER_LINUX = 0, PER_LINUX32 = 0x0008;

/** "0-3,7" -> [0, 1, 2, 3, 7]. */
export function parseIdList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [a, b] = part.split("-").map((x) => Number(x.trim()));
    if (b !== undefined && b < a!) throw new Error(`range ${part} goes backwards`);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}

/** A bitmask as the kernel's cpu_set_t / nodemask (little-endian u64 words). */
export function idMask(ids: number[]): Uint8Array {
  const words = new BigUint64Array(Math.max(1, Math.ceil((Math.max(...ids, 0) + 1) / 64)));
  for (const i of ids) words[i >> 6]! |= 1n << BigInt(i & 63);
  return new Uint8Array(words.buffer);
}

function online(file: string): Set<number> {
  try {
    return new Set(parseIdList(readText(file).trim()));
  } catch {
    return new Set([0]);
  }
}

function checkIds(path: string, list: string, have: Set<number>, what: string): number[] {
  let ids: number[];
  try {
    ids = parseIdList(list);
  } catch (e: any) {
    throw new Error(`${path}: ${e.message}`);
  }
  const missing = ids.filter((i) => !have.has(i));
  if (missing.length) throw new Error(`${path}: ${what} ${missing.join(",")} not online on this host (online: ${[...have].join(",")})`);
  return ids;
}

/** Every rule the kernel would only tell at start, told at create. */
export function checkSchedulingConfig(c: Config): void {
  const p = c.process;
  const s = p?.scheduler;
  if (s) {
    if (s.policy === "SCHED_ISO") throw new Error("process.scheduler.policy: SCHED_ISO is not supported by Linux");
    const rt = s.policy === "SCHED_FIFO" || s.policy === "SCHED_RR";
    const prio = s.priority ?? 0;
    if (rt && (prio < 1 || prio > 99)) throw new Error(`process.scheduler.priority: ${s.policy} needs a priority from 1 to 99`);
    if (!rt && prio !== 0) throw new Error(`process.scheduler.priority: must be 0 for ${s.policy}`);
    if (s.nice !== undefined && (s.nice < -20 || s.nice > 19)) throw new Error("process.scheduler.nice: must be from -20 to 19");
    if (s.policy === "SCHED_DEADLINE") {
      const runtime = s.runtime ?? 0, deadline = s.deadline || 0, period = s.period || deadline;
      if (runtime < 1024 || deadline < runtime || (period && period < deadline))
        throw new Error("process.scheduler: SCHED_DEADLINE needs 1024 <= runtime <= deadline <= period (nanoseconds)");
    } else if (s.runtime || s.deadline || s.period) throw new Error(`process.scheduler: runtime, deadline and period are for SCHED_DEADLINE, not ${s.policy}`);
  }
  const aff = p?.execCPUAffinity;
  if (aff?.initial) checkIds("process.execCPUAffinity.initial", aff.initial, online("/sys/devices/system/cpu/online"), "CPU");
  if (aff?.final) checkIds("process.execCPUAffinity.final", aff.final, online("/sys/devices/system/cpu/online"), "CPU");
  if (c.linux.personality?.flags?.length)
    throw new Error(`linux.personality.flags: no flags are defined by the runtime spec (got ${JSON.stringify(c.linux.personality.flags)})`);
  const mp = c.linux.memoryPolicy;
  if (mp) {
    const hasNodes = !!mp.nodes;
    if ((mp.mode === "MPOL_DEFAULT" || mp.mode === "MPOL_LOCAL") && (hasNodes || mp.flags?.length))
      throw new Error(`linux.memoryPolicy: ${mp.mode} takes no nodes and no flags`);
    if ((mp.mode === "MPOL_BIND" || mp.mode === "MPOL_INTERLEAVE" || mp.mode === "MPOL_WEIGHTED_INTERLEAVE" || mp.mode === "MPOL_PREFERRED_MANY") && !hasNodes)
      throw new Error(`linux.memoryPolicy.nodes: ${mp.mode} needs nodes`);
    if (mp.flags?.includes("MPOL_F_STATIC_NODES") && mp.flags.includes("MPOL_F_RELATIVE_NODES"))
      throw new Error("linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other");
    if (hasNodes && !mp.flags?.includes("MPOL_F_RELATIVE_NODES")) checkIds("linux.memoryPolicy.nodes", mp.nodes!, online("/sys/devices/system/node/online"), "node");
  }
}

/** The request fields for the native init (exec passes its own process, the container's linux). */
export function schedulingFields(p: Process, linux: Config["linux"], isInit: boolean): RequestValues {
  const s = p.scheduler;
  const mp = linux.memoryPolicy;
  // execCPUAffinity is for exec'd processes only (runtime spec).
  const final = isInit ? undefined : p.execCPUAffinity?.final;
  return {
    SCHED_SET: s ? 1 : 0,
    SCHED_POLICY: s ? POLICY[s.policy] : 0,
    SCHED_FLAGS: (s?.flags ?? []).reduce((f, n) => f | SCHED_FLAG[n], 0),
    SCHED_NICE: s?.nice ?? 0, SCHED_PRIORITY: s?.priority ?? 0,
    SCHED_RUNTIME: s?.runtime ?? 0, SCHED_DEADLINE: s?.deadline ?? 0, SCHED_PERIOD: s?.period ?? 0,
    IOPRIO: p.ioPriority ? (IOPRIO_CLASS[p.ioPriority.class] << 13) | p.ioPriority.priority : -1,
    CPU_AFFINITY: final ? idMask(parseIdList(final)) : undefined,
    // As runc: the init, and an exec asking for no affinity, run on every CPU of their cpuset,
    // not on a narrower affinity bunc itself was started with (taskset, systemd's CPUAffinity=).
    RESET_AFFINITY: isInit || !(p.execCPUAffinity?.initial || final) ? 1 : 0,
    PERSONALITY: linux.personality ? (linux.personality.domain === "LINUX32" ? PER_LINUX32 : PER_LINUX) : -1,
    MEMPOLICY_SET: mp ? 1 : 0,
    MEMPOLICY_MODE: mp ? MPOL[mp.mode] | (mp.flags ?? []).reduce((f, n) => f | MPOL_FLAG[n], 0) : 0,
    MEMPOLICY_NODES: mp?.nodes ? idMask(parseIdList(mp.nodes)) : undefined,
  };
}

/** Whether the config asks for anything here (without the native init bunc cannot apply it). */
export function usesSchedulingFields(p: Process | undefined, linux: Config["linux"]): boolean {
  return !!(p?.scheduler || p?.ioPriority || p?.execCPUAffinity?.final || linux.personality || linux.memoryPolicy);
}

/**
 * Runs `fn` with the calling thread pinned to `cpus` (execCPUAffinity.initial): the native
 * stages it clones inherit the mask before they join the container's cgroups.
 */
export function withInitialAffinity<T>(cpus: string | undefined, fn: () => T): T {
  if (!cpus) return fn();
  const { schedGetAffinity, schedSetAffinity } = require("../sys/proc") as typeof import("../sys/proc");
  const saved = schedGetAffinity();
  schedSetAffinity(idMask(parseIdList(cpus)), `process.execCPUAffinity.initial ${cpus}`);
  try {
    return fn();
  } finally {
    schedSetAffinity(saved);
  }
}
