// The systemd cgroup driver (--systemd-cgroup), as runc's: the container's cgroup is a
// transient scope that systemd makes and owns (StartTransientUnit, Delegate=yes), its limits
// given as unit properties, the rest written to the scope's files by the v2 writers.
// This file is the pure part (cgroupsPath rules, slice expansion, property mapping) and the
// unit's operations; the D-Bus conversation is systemd-dbus.ts, loaded only when it is used.
import type { LinuxResources, DeviceRule } from "../../spec/resources";
import { CgroupError } from "./files";
import { blkioToIoWeight, sharesToWeight, swapToV2 } from "./v2";
import { readText } from "../../sys/files";
import { O } from "../../sys/arch";

const SETTING = "linux.cgroupsPath";

/** Where the container's unit goes and what it is called. */
export interface SystemdPlacement {
  /** The parent slice ("system.slice"; "-.slice" is the root slice). */
  slice: string;
  /** `<prefix>-<name>.scope`, or `<name>` when it ends in ".slice". */
  unit: string;
  /** The unit's cgroup below the cgroup2 mount, e.g. "/system.slice/bunc-abc.scope". */
  path: string;
}

/**
 * systemd writes a slice's ancestry into its name: `a-b-c.slice` is
 * `/a.slice/a-b.slice/a-b-c.slice` ("-.slice" is the root). runc's ExpandSlice.
 */
export function expandSlice(slice: string): string {
  const bad = () => new CgroupError(`${SETTING}: invalid slice name "${slice}"`, SETTING);
  if (!slice.endsWith(".slice") || slice.length <= ".slice".length || slice.includes("/")) throw bad();
  const name = slice.slice(0, -".slice".length);
  if (name === "-") return "/";
  let path = "", prefix = "";
  for (const part of name.split("-")) {
    if (!part) throw bad(); // "a--b.slice", "-a.slice"
    path += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return path;
}

/**
 * Where a user's systemd instance (user@UID.service, started by logind) keeps its units: its
 * slices and scopes are below this cgroup, not below the root.
 */
export function userManagerCgroup(uid: number): string {
  return `/user.slice/user-${uid}.slice/user@${uid}.service`;
}

/**
 * runc's rules for `linux.cgroupsPath` under the systemd driver: "slice:prefix:name"; an empty
 * slice is system.slice (user.slice in a user's instance); no cgroupsPath at all is ":bunc:<id>".
 * `user`: rootless, the unit goes to that user's systemd instance (runc's systemdUser).
 */
export function systemdPlacement(id: string, cgroupsPath: string | undefined, user?: { uid: number }): SystemdPlacement {
  let parent = "", prefix = "bunc", name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(":");
    if (parts.length !== 3)
      throw new CgroupError(`${SETTING}: "${cgroupsPath}" must be "slice:prefix:name" with --systemd-cgroup`, SETTING);
    [parent, prefix, name] = parts as [string, string, string];
    if (!name) throw new CgroupError(`${SETTING}: "${cgroupsPath}" has no name (slice:prefix:name)`, SETTING);
  }
  if (name.includes("/") || prefix.includes("/"))
    throw new CgroupError(`${SETTING}: "${cgroupsPath}": a unit name has no "/"`, SETTING);
  const slice = parent || (user ? "user.slice" : "system.slice");
  const unit = name.endsWith(".slice") ? name : `${prefix}-${name}.scope`;
  const base = expandSlice(slice);
  return { slice, unit, path: `${user ? userManagerCgroup(user.uid) : ""}${base === "/" ? "" : base}/${unit}` };
}

/** A unit property as sent over D-Bus: name, D-Bus signature, JSON-safe value ("t" as a decimal string). */
export type Prop = [name: string, signature: string, value: unknown];

const U64_MAX = "18446744073709551615";
const u64 = (n: number) => (n === -1 ? U64_MAX : String(n));

/** "0-3,7" -> systemd's CPU/NUMA mask: bytes, little-endian bit order (byte 0 holds 0-7). runc's RangeToBits. */
export function rangeToBits(list: string, setting = "linux.resources.cpu.cpus"): number[] {
  const bits: number[] = [];
  for (const raw of list.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new CgroupError(`${setting}: invalid list "${list}"`, setting);
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 65535) throw new CgroupError(`${setting}: invalid range "${part}"`, setting);
    for (let i = lo; i <= hi; i++) bits.push(i);
  }
  if (!bits.length) throw new CgroupError(`${setting}: empty list "${list}"`, setting);
  const out = new Array<number>(Math.floor(Math.max(...bits) / 8) + 1).fill(0);
  for (const b of bits) out[b >> 3]! |= 1 << (b & 7);
  return out;
}

/** CPUQuotaPerSecUSec (and the period) from quota/period, rounded up to 10 ms as runc does (systemd keeps whole percents). */
function cpuQuota(props: Prop[], quota: number, period: number): void {
  if (period) props.push(["CPUQuotaPeriodUSec", "t", String(period)]);
  if (quota || period) {
    let perSec = U64_MAX;
    if (quota > 0) {
      let v = Math.floor((quota * 1_000_000) / (period || 100_000));
      if (v % 10_000) v = (Math.floor(v / 10_000) + 1) * 10_000;
      perSec = String(v);
    }
    props.push(["CPUQuotaPerSecUSec", "t", perSec]);
  }
}

/** Major numbers -> driver names, from /proc/devices ("char-<name>" in DeviceAllow). */
export function parseProcDevices(text: string): { c: Map<number, string>; b: Map<number, string> } {
  const out = { c: new Map<number, string>(), b: new Map<number, string>() };
  let cur: Map<number, string> | undefined;
  for (const line of text.split("\n")) {
    if (/^Character devices:/.test(line)) cur = out.c;
    else if (/^Block devices:/.test(line)) cur = out.b;
    else {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m && cur) cur.set(Number(m[1]), m[2]!);
    }
  }
  return out;
}

/**
 * DevicePolicy/DeviceAllow from the OCI rules, where they say it simply: a default deny
 * ("a" denied first) followed by allow rules. Anything else is left to bunc's own eBPF
 * program alone (written after, as runc does), so the properties are never looser than it.
 */
export function deviceProperties(rules: DeviceRule[] | undefined, procDevices: () => string = () => readText("/proc/devices")): Prop[] {
  if (!rules?.length) return [];
  const all = (r: DeviceRule) => (!r.type || r.type === "a") && (r.major ?? -1) === -1 && (r.minor ?? -1) === -1;
  const last = rules.findLastIndex((r) => all(r));
  if (last < 0) return [];
  if (rules[last]!.allow) return rules.slice(last + 1).some((r) => !r.allow) ? [] : [["DevicePolicy", "s", "auto"], ["DeviceAllow", "a(ss)", []]];
  const rest = rules.slice(last + 1);
  if (rest.some((r) => !r.allow || r.type === "a" || !r.type)) return [];
  let names: ReturnType<typeof parseProcDevices> | undefined;
  const allow: [string, string][] = [];
  for (const r of rest) {
    const type = r.type as "c" | "b";
    const access = r.access || "rwm";
    const major = r.major ?? -1, minor = r.minor ?? -1;
    const kind = type === "c" ? "char" : "block";
    if (major === -1) allow.push([`${kind}-*`, access]);
    else if (minor === -1) {
      names ??= parseProcDevices(procDevices());
      const name = names[type].get(major);
      if (!name) return []; // no such driver loaded: bunc's program alone
      allow.push([`${kind}-${name}`, access]);
    } else allow.push([`/dev/${kind}/${major}:${minor}`, access]);
  }
  return [["DevicePolicy", "s", "strict"], ["DeviceAllow", "a(ss)", allow]];
}

const UNIFIED_MEMORY: Record<string, string> = {
  "memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin", "memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax",
};

/** linux.resources.unified entries systemd has a property for (the rest are written to files only). runc's unifiedResToSystemdProps. */
function unifiedProperties(props: Prop[], unified: Record<string, string>): void {
  for (const [file, raw] of Object.entries(unified)) {
    const v = raw.trim();
    const setting = `linux.resources.unified["${file}"]`;
    const num = (s: string) => {
      if (!/^\d+$/.test(s)) throw new CgroupError(`${setting}: invalid value "${raw}"`, setting);
      return s;
    };
    if (file === "cpu.max") {
      const [q, p] = v.split(/\s+/);
      cpuQuota(props, q === "max" ? 0 : Number(num(q ?? "")), p === undefined ? 100_000 : Number(num(p)));
    } else if (file === "cpu.weight") props.push(["CPUWeight", "t", num(v)]);
    else if (file === "cpuset.cpus") props.push(["AllowedCPUs", "ay", rangeToBits(v, setting)]);
    else if (file === "cpuset.mems") props.push(["AllowedMemoryNodes", "ay", rangeToBits(v, setting)]);
    else if (UNIFIED_MEMORY[file]) props.push([UNIFIED_MEMORY[file]!, "t", v === "max" ? U64_MAX : num(v)]);
    else if (file === "pids.max") props.push(["TasksMax", "t", v === "max" ? U64_MAX : num(v)]);
  }
}

/** The resources systemd has properties for (runc's genV2ResourcesProperties, plus IOWeight). */
export function resourceProperties(r: LinuxResources, procDevices?: () => string): Prop[] {
  const props: Prop[] = [...deviceProperties(r.devices, procDevices)];
  const m = r.memory;
  if (m) {
    const limit = m.limit ?? 0;
    if (limit) props.push(["MemoryMax", "t", u64(limit)]);
    if (m.reservation) props.push(["MemoryLow", "t", u64(m.reservation)]);
    const swap = swapToV2(m.swap ?? 0, limit);
    if (swap !== 0) props.push(["MemorySwapMax", "t", u64(swap)]);
  }
  const c = r.cpu;
  if (c) {
    if (c.shares) props.push(["CPUWeight", "t", String(sharesToWeight(c.shares))]);
    cpuQuota(props, c.quota ?? 0, c.period ?? 0);
    if (c.cpus) props.push(["AllowedCPUs", "ay", rangeToBits(c.cpus)]);
    if (c.mems) props.push(["AllowedMemoryNodes", "ay", rangeToBits(c.mems, "linux.resources.cpu.mems")]);
  }
  const pids = r.pids?.limit;
  if (pids && (pids > 0 || pids === -1)) props.push(["TasksMax", "t", u64(pids)]);
  if (r.blockIO?.weight) props.push(["IOWeight", "t", String(blkioToIoWeight(r.blockIO.weight))]);
  if (r.unified) unifiedProperties(props, r.unified);
  return props;
}

/** Everything StartTransientUnit gets: placement, the init, delegation, accounting, and the resources. */
export function unitProperties(id: string, p: SystemdPlacement, pid: number, r: LinuxResources, procDevices?: () => string): Prop[] {
  const slice = p.unit.endsWith(".slice");
  return [
    ["Description", "s", `bunc container ${id}`],
    // A slice's parent is a dependency (Wants=); a scope's is its Slice=.
    slice ? ["Wants", "as", [p.slice]] : ["Slice", "s", p.slice],
    ...(pid > 0 ? [["PIDs", "au", [pid]] as Prop] : []),
    ...(slice ? [] : [["Delegate", "b", true] as Prop]),
    ["MemoryAccounting", "b", true], ["CPUAccounting", "b", true], ["IOAccounting", "b", true], ["TasksAccounting", "b", true],
    ["DefaultDependencies", "b", false],
    ...resourceProperties(r, procDevices),
  ];
}

/** Properties older systemd lacks (runc checks the same versions): name -> first version. */
export const MIN_VERSION: Record<string, number> = { CPUQuotaPeriodUSec: 242, AllowedCPUs: 244, AllowedMemoryNodes: 244 };

/** One operation on systemd. */
export type SystemdRequest = (
  | { op: "start"; unit: string; props: Prop[]; timeoutMs: number; /** the unit's cgroup bunc expects (checked in a user's instance) */ path?: string }
  | { op: "stop"; unit: string; timeoutMs: number }
  | { op: "set"; unit: string; props: Prop[] }
) & { /** the caller's own systemd instance (rootless), not the system's */ user?: boolean };

/** Carries out a request (throws what went wrong, in one line): systemd-dbus.ts's callSystemd; a recording fake in unit tests. */
export type SystemdCaller = (req: SystemdRequest, debug?: (m: string) => void) => void;

/** The systemd side of one container's CgroupManager. */
export class SystemdUnit {
  constructor(
    readonly id: string,
    readonly placement: SystemdPlacement,
    /** False until create's StartTransientUnit: nothing to join, stop or set before. */
    public started: boolean,
    private readonly call: SystemdCaller,
    /** Rootless: the unit lives in the caller's own systemd instance (systemd --user). */
    readonly user = false,
    /** --debug: what the D-Bus client retried. */
    private readonly debug?: (m: string) => void,
    /** org.systemd.property.* annotations (systemd-annotations.ts): sent after bunc's own, as runc does. */
    private readonly annotated: Prop[] = [],
  ) {}

  get unit(): string {
    return this.placement.unit;
  }

  private run(req: SystemdRequest, what: string): void {
    try {
      this.call(this.user ? { ...req, user: true } : req, this.debug);
    } catch (e: any) {
      throw new CgroupError(`systemd: ${what} ${this.unit}: ${e?.message ?? e}`, SETTING, "ESYSTEMD");
    }
  }

  /** The transient unit with the init in it, and the resources systemd has properties for; waits for the job. */
  start(pid: number, r: LinuxResources, timeoutMs = 30_000): void {
    const props = [...unitProperties(this.id, this.placement, pid, r), ...this.annotated];
    this.run({ op: "start", unit: this.unit, props, timeoutMs, path: this.placement.path }, "cannot start unit");
    this.started = true;
  }

  /** update: the new limits as runtime properties (the files are written after). */
  set(r: LinuxResources): void {
    const props = resourceProperties(r);
    if (props.length) this.run({ op: "set", unit: this.unit, props }, "cannot set properties of");
  }

  stop(timeoutMs = 30_000): void {
    this.run({ op: "stop", unit: this.unit, timeoutMs }, "cannot stop unit");
  }
}
