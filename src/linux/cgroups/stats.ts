// Statistics shaped like runc's `events --stats` data (libcontainer/cgroups Stats as JSON).
import { parseKeyValues, tryRead } from "./files";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export interface MemoryEntry { limit: number; usage?: number; max?: number; failcnt: number }
export interface BlkioEntry { major?: number; minor?: number; op?: string; value?: number }
export interface Stats {
  cpu: { usage: { total?: number; percpu?: number[]; percpu_kernel?: number[]; percpu_user?: number[]; kernel?: number; user?: number };
         throttling: { periods?: number; throttled_periods?: number; throttled_time?: number } };
  memory: { cache?: number; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, number> };
  pids: { current?: number; limit?: number };
  blkio: { ioServiceBytesRecursive?: BlkioEntry[]; ioServicedRecursive?: BlkioEntry[] };
  hugetlb: Record<string, { usage?: number; max?: number; failcnt: number }>;
  cpuset: {
    cpus?: number[]; cpu_exclusive: number; mems?: number[]; mem_hardwall: number; mem_exclusive: number; memory_migrate: number;
    memory_spread_page: number; memory_spread_slab: number; memory_pressure: number; sched_load_balance: number; sched_relax_domain_level: number;
  };
  /** Always empty: bunc manages no Intel RDT group of its own in stats, and no network (runc's are empty for OCI configs too). */
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

/** "0-3,5" -> [0, 1, 2, 3, 5] (a cpuset list); undefined when empty. */
export function cpuList(text: string | undefined): number[] | undefined {
  const out: number[] = [];
  for (const part of (text ?? "").trim().split(",").filter(Boolean)) {
    const [a, b] = part.split("-").map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out.length ? out : undefined;
}

/** Where a controller lives for this container: its directory and the hierarchy version. */
export type Locate = (controller: string) => { dir: string; version: 1 | 2 } | undefined;

const num = (s: string | undefined): number | undefined => {
  const t = s?.trim();
  if (!t) return undefined;
  return t === "max" ? 0 : Number(t); // runc reports "max" as 0 / no limit
};
const list = (s: string | undefined) => s?.trim().split(/\s+/).filter(Boolean).map(Number);
const USER_HZ_NS = 1e7; // cpuacct.stat counts in USER_HZ (100/s)

function entry(dir: string, prefix: string): MemoryEntry {
  return {
    limit: num(tryRead(dir, `${prefix}.limit_in_bytes`)) ?? 0, usage: num(tryRead(dir, `${prefix}.usage_in_bytes`)),
    max: num(tryRead(dir, `${prefix}.max_usage_in_bytes`)), failcnt: num(tryRead(dir, `${prefix}.failcnt`)) ?? 0,
  };
}

function blkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [maj, min] = f[0]!.split(":").map(Number);
    out.push({ major: maj, minor: min, op: f[1], value: Number(f[2]) });
  }
  return out;
}

function ioStatV2(text: string | undefined): Stats["blkio"] {
  const bytes: BlkioEntry[] = [], ios: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    if (!dev?.includes(":")) continue;
    const [major, minor] = dev.split(":").map(Number);
    const v = Object.fromEntries(kv.map((p) => p.split("=")).map(([k, x]) => [k, Number(x)]));
    bytes.push({ major, minor, op: "Read", value: v.rbytes }, { major, minor, op: "Write", value: v.wbytes });
    ios.push({ major, minor, op: "Read", value: v.rios }, { major, minor, op: "Write", value: v.wios });
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

function hugeSizes(dir: string, suffix: string): string[] {
  try {
    return nodeFs().readdirSync(dir).flatMap((f) => (f.startsWith("hugetlb.") && f.endsWith(suffix) && f.split(".").length === 3 ? [f.split(".")[1]!] : []));
  } catch {
    return [];
  }
}

export function collectStats(locate: Locate): Stats {
  const s: Stats = {
    cpu: { usage: {}, throttling: {} },
    memory: { usage: { limit: 0, failcnt: 0 }, swap: { limit: 0, failcnt: 0 }, kernel: { limit: 0, failcnt: 0 }, kernelTCP: { limit: 0, failcnt: 0 } },
    pids: {}, blkio: {}, hugetlb: {},
    cpuset: { cpu_exclusive: 0, mem_hardwall: 0, mem_exclusive: 0, memory_migrate: 0, memory_spread_page: 0, memory_spread_slab: 0, memory_pressure: 0, sched_load_balance: 0, sched_relax_domain_level: 0 },
    intel_rdt: {}, network_interfaces: null,
  };
  const cpu = locate("cpu"), acct = locate("cpuacct"), mem = locate("memory"), pids = locate("pids");
  const blk = locate("blkio") ?? locate("io"), huge = locate("hugetlb"), cpuset = locate("cpuset");

  if (cpu) {
    const st = parseKeyValues(tryRead(cpu.dir, "cpu.stat"));
    const v2 = cpu.version === 2;
    s.cpu.throttling = { periods: st.nr_periods, throttled_periods: st.nr_throttled, throttled_time: v2 ? st.throttled_usec! * 1000 : st.throttled_time };
    if (v2) s.cpu.usage = { total: st.usage_usec! * 1000, user: st.user_usec! * 1000, kernel: st.system_usec! * 1000 };
  }
  if (acct?.version === 1) {
    const st = parseKeyValues(tryRead(acct.dir, "cpuacct.stat"));
    s.cpu.usage = {
      total: num(tryRead(acct.dir, "cpuacct.usage")), percpu: list(tryRead(acct.dir, "cpuacct.usage_percpu")),
      percpu_kernel: list(tryRead(acct.dir, "cpuacct.usage_percpu_sys")), percpu_user: list(tryRead(acct.dir, "cpuacct.usage_percpu_user")),
      kernel: (st.system ?? 0) * USER_HZ_NS, user: (st.user ?? 0) * USER_HZ_NS,
    };
  }
  if (mem) {
    const raw = parseKeyValues(tryRead(mem.dir, "memory.stat"));
    s.memory.raw = raw;
    if (mem.version === 1) {
      s.memory.cache = raw.cache;
      s.memory.usage = entry(mem.dir, "memory");
      s.memory.swap = entry(mem.dir, "memory.memsw");
      s.memory.kernel = entry(mem.dir, "memory.kmem");
      s.memory.kernelTCP = entry(mem.dir, "memory.kmem.tcp");
    } else {
      s.memory.cache = raw.file;
      const events = parseKeyValues(tryRead(mem.dir, "memory.events"));
      s.memory.usage = { limit: num(tryRead(mem.dir, "memory.max")) ?? 0, usage: num(tryRead(mem.dir, "memory.current")), max: num(tryRead(mem.dir, "memory.peak")), failcnt: events.max ?? 0 };
      s.memory.swap = { limit: num(tryRead(mem.dir, "memory.swap.max")) ?? 0, usage: num(tryRead(mem.dir, "memory.swap.current")), failcnt: 0 };
    }
  }
  if (pids) s.pids = { current: num(tryRead(pids.dir, "pids.current")), limit: num(tryRead(pids.dir, "pids.max")) };
  if (blk?.version === 1) {
    const pick = (name: string) =>
      blkioV1(tryRead(blk.dir, `blkio.${name}_recursive`) || tryRead(blk.dir, `blkio.bfq.${name}_recursive`) || tryRead(blk.dir, `blkio.throttle.${name}_recursive`));
    s.blkio = { ioServiceBytesRecursive: pick("io_service_bytes"), ioServicedRecursive: pick("io_serviced") };
  } else if (blk) s.blkio = ioStatV2(tryRead(blk.dir, "io.stat"));
  if (huge) {
    const v1 = huge.version === 1;
    for (const size of hugeSizes(huge.dir, v1 ? ".limit_in_bytes" : ".max")) {
      const p = `hugetlb.${size}`;
      s.hugetlb[size] = v1
        ? { usage: num(tryRead(huge.dir, `${p}.usage_in_bytes`)), max: num(tryRead(huge.dir, `${p}.max_usage_in_bytes`)), failcnt: num(tryRead(huge.dir, `${p}.failcnt`)) ?? 0 }
        : { usage: num(tryRead(huge.dir, `${p}.current`)), failcnt: parseKeyValues(tryRead(huge.dir, `${p}.events`)).max ?? 0 };
    }
  }
  // As runc's v1 cpuset stats (its cgroup2 stats have none).
  if (cpuset?.version === 1) {
    const read = (name: string) => num(tryRead(cpuset.dir, `cpuset.${name}`)) ?? 0;
    s.cpuset = {
      cpus: cpuList(tryRead(cpuset.dir, "cpuset.cpus")), cpu_exclusive: read("cpu_exclusive"), mems: cpuList(tryRead(cpuset.dir, "cpuset.mems")),
      mem_hardwall: read("mem_hardwall"), mem_exclusive: read("mem_exclusive"), memory_migrate: read("memory_migrate"),
      memory_spread_page: read("memory_spread_page"), memory_spread_slab: read("memory_spread_slab"), memory_pressure: read("memory_pressure"),
      sched_load_balance: read("sched_load_balance"), sched_relax_domain_level: read("sched_relax_domain_level"),
    };
  }
  return s;
}
