// cgroup v2 writers. Values come in OCI's (v1-shaped) units and are converted as runc does.
import type { LinuxResources } from "../../spec/resources";
import { CgroupError, hasFile, writeCgroupFile as w, type Warn } from "./files";

type R = LinuxResources;
const M = "linux.resources.memory", C = "linux.resources.cpu", B = "linux.resources.blockIO";

/** cpu.shares [2, 262144] -> cpu.weight [1, 10000], runc's linear mapping. */
export function sharesToWeight(shares: number): number {
  return shares === 0 ? 0 : 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight [10, 1000] -> io.weight [1, 10000]. */
export function blkioToIoWeight(weight: number): number {
  return weight === 0 ? 0 : 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** OCI swap is memory+swap; v2's memory.swap.max is swap alone. -1 = max, 0 = unset. */
export function swapToV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) throw new CgroupError(`${M}.swap: cannot limit swap without a memory limit`, `${M}.swap`);
  if (swap < limit) throw new CgroupError(`${M}.swap: memory+swap limit ${swap} is below the memory limit ${limit}`, `${M}.swap`);
  return swap - limit;
}

const max = (n: number) => (n === -1 ? "max" : n);

export function memoryV2(dir: string, m: NonNullable<R["memory"]>, warn: Warn): void {
  if (m.kernel) warn(`${M}.kernel: kernel memory limits are deprecated and ignored`);
  if (m.kernelTCP) warn(`${M}.kernelTCP: not supported on cgroup v2, ignored`);
  if (m.swappiness !== undefined) warn(`${M}.swappiness: not supported on cgroup v2, ignored`);
  if (m.disableOOMKiller) warn(`${M}.disableOOMKiller: not supported on cgroup v2, ignored`);
  const limit = m.limit ?? 0;
  const swap = swapToV2(m.swap ?? 0, limit);
  // Swap first, like runc: memory.max alone could be refused against a stale swap setting.
  if (swap !== 0) {
    if (hasFile(dir, "memory.swap.max")) w(dir, "memory.swap.max", max(swap), `${M}.swap`);
    else if (swap !== -1) throw new CgroupError(`${M}.swap: memory.swap.max not available (no swap accounting)`, `${M}.swap`);
  }
  if (limit) w(dir, "memory.max", max(limit), `${M}.limit`);
  if (m.reservation) w(dir, "memory.low", max(m.reservation), `${M}.reservation`);
}

export function cpuV2(dir: string, c: NonNullable<R["cpu"]>): void {
  if (c.realtimePeriod || c.realtimeRuntime)
    throw new CgroupError(`${C}.realtimeRuntime: realtime scheduling is not supported on cgroup v2`, `${C}.realtimeRuntime`);
  // The kernel refuses a weight for an idle group: leaving idle first, and no weight for one.
  if (c.idle === 0) w(dir, "cpu.idle", 0, `${C}.idle`);
  if (c.shares && c.idle !== 1) w(dir, "cpu.weight", sharesToWeight(c.shares), `${C}.shares`);
  if (c.idle !== undefined && c.idle !== 0) w(dir, "cpu.idle", c.idle, `${C}.idle`);
  if (c.burst !== undefined) w(dir, "cpu.max.burst", c.burst, `${C}.burst`);
  if (c.quota || c.period) {
    const quota = c.quota && c.quota > 0 ? String(c.quota) : "max";
    w(dir, "cpu.max", `${quota} ${c.period || 100000}`, c.quota ? `${C}.quota` : `${C}.period`);
  }
}

export function cpusetV2(dir: string, c: NonNullable<R["cpu"]>): void {
  if (c.cpus) w(dir, "cpuset.cpus", c.cpus, `${C}.cpus`);
  if (c.mems) w(dir, "cpuset.mems", c.mems, `${C}.mems`);
}

export function ioV2(dir: string, b: NonNullable<R["blockIO"]>, warn: Warn): void {
  const bfq = hasFile(dir, "io.bfq.weight");
  // BFQ takes blkio's own scale; io.weight needs converting.
  if (b.weight) {
    if (bfq) w(dir, "io.bfq.weight", b.weight, `${B}.weight`);
    else w(dir, "io.weight", blkioToIoWeight(b.weight), `${B}.weight`);
  }
  if (b.leafWeight) warn(`${B}.leafWeight: not supported on cgroup v2, ignored`);
  b.weightDevice?.forEach((d, i) => {
    if (d.weight) w(dir, "io.bfq.weight", `${d.major}:${d.minor} ${d.weight}`, `${B}.weightDevice[${i}].weight`);
  });
  const throttles = [
    ["throttleReadBpsDevice", "rbps"], ["throttleWriteBpsDevice", "wbps"],
    ["throttleReadIOPSDevice", "riops"], ["throttleWriteIOPSDevice", "wiops"],
  ] as const;
  for (const [key, name] of throttles)
    b[key]?.forEach((d, i) => w(dir, "io.max", `${d.major}:${d.minor} ${name}=${d.rate}`, `${B}.${key}[${i}]`));
}

/** linux.resources.unified: file -> value, written as given. */
export function unifiedV2(dir: string, u: Record<string, string>, enabled: string[]): void {
  for (const [file, value] of Object.entries(u)) {
    const setting = `linux.resources.unified["${file}"]`;
    const ctrl = file.split(".")[0]!;
    if (ctrl !== "cgroup" && !enabled.includes(ctrl))
      throw new CgroupError(`${setting}: controller "${ctrl}" not available on the cgroup v2 hierarchy`, setting);
    w(dir, file, value, setting);
  }
}
