// cgroup v1 writers: one function per controller, each given that controller's directory.
import type { LinuxResources } from "../../spec/resources";
import { CgroupError, hasFile, readCgroupFile, writeCgroupFile as w, type Warn } from "./files";

type R = LinuxResources;
const M = "linux.resources.memory", C = "linux.resources.cpu", B = "linux.resources.blockIO";

export function memoryV1(dir: string, m: NonNullable<R["memory"]>, warn: Warn): void {
  if (m.kernel) warn(`${M}.kernel: kernel memory limits are deprecated and ignored`);
  let { limit = 0, swap = 0 } = m;
  // Unlimited memory without an explicit swap means unlimited swap too (runc).
  if (limit === -1 && swap === 0 && hasFile(dir, "memory.memsw.limit_in_bytes")) swap = -1;
  const setLimit = () => limit && w(dir, "memory.limit_in_bytes", limit, `${M}.limit`);
  const setSwap = () => swap && w(dir, "memory.memsw.limit_in_bytes", swap, `${M}.swap`);
  // memsw must stay >= limit at every step, so raise swap first when growing.
  const cur = limit && swap ? Number(readCgroupFile(dir, "memory.limit_in_bytes")) : 0;
  if (limit && swap && (swap === -1 || cur < swap)) (setSwap(), setLimit());
  else (setLimit(), setSwap());
  if (m.reservation) w(dir, "memory.soft_limit_in_bytes", m.reservation, `${M}.reservation`);
  if (m.kernelTCP) w(dir, "memory.kmem.tcp.limit_in_bytes", m.kernelTCP, `${M}.kernelTCP`);
  if (m.swappiness !== undefined) w(dir, "memory.swappiness", m.swappiness, `${M}.swappiness`);
  if (m.disableOOMKiller) w(dir, "memory.oom_control", 1, `${M}.disableOOMKiller`);
}

export function cpuV1(dir: string, c: NonNullable<R["cpu"]>): void {
  // The kernel refuses shares for an idle group: leaving idle first, and no shares for one.
  if (c.idle === 0) w(dir, "cpu.idle", 0, `${C}.idle`);
  if (c.shares && c.idle !== 1) {
    w(dir, "cpu.shares", c.shares, `${C}.shares`);
    const got = Number(readCgroupFile(dir, "cpu.shares"));
    if (got !== c.shares) throw new CgroupError(`${C}.shares: the kernel clamped ${c.shares} to ${got}`, `${C}.shares`);
  }
  // A smaller period is refused while the quota in place is larger, a realtime period while
  // the runtime in place is: then the new quota (runtime) goes first (as runc).
  periodThen(dir, ["cpu.cfs_period_us", c.period, "period"], ["cpu.cfs_quota_us", c.quota, "quota"]);
  if (c.burst !== undefined) w(dir, "cpu.cfs_burst_us", c.burst, `${C}.burst`);
  periodThen(dir, ["cpu.rt_period_us", c.realtimePeriod, "realtimePeriod"], ["cpu.rt_runtime_us", c.realtimeRuntime, "realtimeRuntime"]);
  if (c.idle !== undefined && c.idle !== 0) w(dir, "cpu.idle", c.idle, `${C}.idle`);
}

type Setting = [file: string, value: number | undefined, field: string];

/** `period`, then `share` (each when given); `share` first too when the kernel refused `period` against the one in place. */
function periodThen(dir: string, period: Setting, share: Setting): void {
  const set = ([file, value, field]: Setting) => value && w(dir, file, value, `${C}.${field}`);
  try {
    set(period);
  } catch (e) {
    if (!share[1]) throw e;
    set(share);
    set(period);
  }
  set(share);
}

export function cpusetV1(dir: string, c: NonNullable<R["cpu"]>): void {
  if (c.cpus) w(dir, "cpuset.cpus", c.cpus, `${C}.cpus`);
  if (c.mems) w(dir, "cpuset.mems", c.mems, `${C}.mems`);
}

export function pidsLimit(dir: string, limit: number | undefined): void {
  // 0 = unset; negative = unlimited (runc).
  if (limit) w(dir, "pids.max", limit > 0 ? limit : "max", "linux.resources.pids.limit");
}

export function blkioV1(dir: string, b: NonNullable<R["blockIO"]>): void {
  // Kernels with BFQ only expose blkio.bfq.weight*.
  const bfq = !hasFile(dir, "blkio.weight") && hasFile(dir, "blkio.bfq.weight") ? "bfq." : "";
  if (b.weight) w(dir, `blkio.${bfq}weight`, b.weight, `${B}.weight`);
  if (b.leafWeight) w(dir, "blkio.leaf_weight", b.leafWeight, `${B}.leafWeight`);
  b.weightDevice?.forEach((d, i) => {
    if (d.weight) w(dir, `blkio.${bfq}weight_device`, `${d.major}:${d.minor} ${d.weight}`, `${B}.weightDevice[${i}].weight`);
    if (d.leafWeight) w(dir, "blkio.leaf_weight_device", `${d.major}:${d.minor} ${d.leafWeight}`, `${B}.weightDevice[${i}].leafWeight`);
  });
  const throttles = [
    ["throttleReadBpsDevice", "read_bps_device"], ["throttleWriteBpsDevice", "write_bps_device"],
    ["throttleReadIOPSDevice", "read_iops_device"], ["throttleWriteIOPSDevice", "write_iops_device"],
  ] as const;
  for (const [key, file] of throttles)
    b[key]?.forEach((d, i) => w(dir, `blkio.throttle.${file}`, `${d.major}:${d.minor} ${d.rate}`, `${B}.${key}[${i}]`));
}

/** hugetlb.<size>.limit_in_bytes (v1) or hugetlb.<size>.max (v2); the reservation file too where it exists. */
export function hugetlb(dir: string, limits: NonNullable<R["hugepageLimits"]>, version: 1 | 2): void {
  const suffix = version === 1 ? "limit_in_bytes" : "max";
  limits.forEach((l, i) => {
    const setting = `linux.resources.hugepageLimits[${i}]`;
    w(dir, `hugetlb.${l.pageSize}.${suffix}`, l.limit, setting);
    const rsvd = `hugetlb.${l.pageSize}.rsvd.${suffix}`;
    if (hasFile(dir, rsvd)) w(dir, rsvd, l.limit, setting);
  });
}

export function netClsV1(dir: string, classID: number): void {
  w(dir, "net_cls.classid", classID, "linux.resources.network.classID");
}

export function netPrioV1(dir: string, prios: { name: string; priority: number }[]): void {
  prios.forEach((p, i) => w(dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`, `linux.resources.network.priorities[${i}]`));
}

/** rdma.max has the same format on v1 and v2. */
export function rdma(dir: string, r: NonNullable<R["rdma"]>): void {
  for (const [dev, l] of Object.entries(r)) {
    let line = dev;
    if (l.hcaHandles !== undefined) line += ` hca_handle=${l.hcaHandles}`;
    if (l.hcaObjects !== undefined) line += ` hca_object=${l.hcaObjects}`;
    w(dir, "rdma.max", line, `linux.resources.rdma.${dev}`);
  }
}
