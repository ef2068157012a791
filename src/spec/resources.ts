// valibot schema for OCI config `linux.resources` (config-linux.md "Control groups").
// Unknown properties are ignored; invalid values are issues naming the JSON path.
import * as v from "valibot";
import { lazily } from "./lazily";

const int = v.pipe(v.number(), v.integer());
const u64 = v.pipe(v.number(), v.integer(), v.minValue(0));
const u32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const u16 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffff));
const opt = <T extends v.GenericSchema>(s: T) => v.optional(s);

export const DeviceRuleSchema = v.looseObject({
  allow: v.boolean(),
  type: opt(v.picklist(["a", "b", "c", "u", "p"], (i) => `unknown device type ${JSON.stringify(i.input)}`)),
  major: opt(v.nullable(int)),
  minor: opt(v.nullable(int)),
  access: opt(v.pipe(v.string(), v.regex(/^[rwm]*$/, "must be a combination of r, w and m"))),
});

// devices is in every config (runc's default denies all); the other parts are built when a
// config has them (spec/lazily.ts).
export const LinuxResourcesSchema = v.looseObject({
  devices: opt(v.array(DeviceRuleSchema)),
  memory: opt(lazily(() => v.looseObject({
    limit: opt(int), reservation: opt(int), swap: opt(int), kernel: opt(int), kernelTCP: opt(int),
    swappiness: opt(v.pipe(u64, v.maxValue(100))), disableOOMKiller: opt(v.boolean()),
    useHierarchy: opt(v.boolean()), checkBeforeUpdate: opt(v.boolean()),
  }))),
  cpu: opt(lazily(() => v.looseObject({
    shares: opt(u64), quota: opt(int), burst: opt(u64), period: opt(u64),
    realtimeRuntime: opt(int), realtimePeriod: opt(u64),
    cpus: opt(v.pipe(v.string(), v.regex(/^[0-9,\- ]*$/, "must be a CPU list like 0-3,7"))),
    mems: opt(v.pipe(v.string(), v.regex(/^[0-9,\- ]*$/, "must be a node list like 0-1"))),
    idle: opt(int),
  }))),
  pids: opt(v.looseObject({ limit: opt(int) })),
  blockIO: opt(lazily(() => {
    const blockDevice = { major: int, minor: int };
    const throttle = opt(v.array(v.looseObject({ ...blockDevice, rate: u64 })));
    return v.looseObject({
      weight: opt(u16), leafWeight: opt(u16),
      weightDevice: opt(v.array(v.looseObject({ ...blockDevice, weight: opt(u16), leafWeight: opt(u16) }))),
      throttleReadBpsDevice: throttle, throttleWriteBpsDevice: throttle,
      throttleReadIOPSDevice: throttle, throttleWriteIOPSDevice: throttle,
    });
  })),
  hugepageLimits: opt(lazily(() => v.array(v.looseObject({
    pageSize: v.pipe(v.string(), v.regex(/^\d+[KMG]B$/, "must be like 2MB or 1GB")), limit: u64,
  })))),
  network: opt(lazily(() => v.looseObject({
    classID: opt(u32),
    priorities: opt(v.array(v.looseObject({ name: v.string(), priority: u32 }))),
  }))),
  rdma: opt(lazily(() => v.record(v.string(), v.looseObject({ hcaHandles: opt(u32), hcaObjects: opt(u32) })))),
  unified: opt(lazily(() => v.record(
    v.pipe(v.string(), v.check((k) => !k.includes("/") && k.includes("."), "must be a cgroup file name like memory.high")),
    v.string(),
  ))),
});

export type LinuxResources = v.InferOutput<typeof LinuxResourcesSchema>;
export type DeviceRule = v.InferOutput<typeof DeviceRuleSchema>;

export { DEFAULT_ALLOWED_DEVICES } from "./allowed-devices";
