// valibot schemas for config.json (OCI runtime-spec config.md, config-linux.md): the
// single source of the config types. Unknown properties are ignored (looseObject);
// invalid values are errors naming the JSON path.
import * as v from "valibot";
import { lazily } from "./lazily";
import { LinuxResourcesSchema } from "./resources";
import { SeccompSchema } from "./seccomp";

const u32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));
const i64 = v.pipe(v.number(), v.integer());
// NUL would cut the path short at the syscall; other control characters have no use in a path.
const noControl = v.check((s: string) => !/[\u0000-\u001f\u007f]/.test(s), "must not contain control characters");
const absolutePath = v.pipe(v.string(), v.check((s) => s.startsWith("/"), "must be an absolute path"), noControl);

// The parts most configs leave out are built on first use (spec/lazily.ts).
export const HooksSchema = lazily(() => {
  const hook = v.looseObject({
    path: absolutePath,
    args: v.optional(v.array(v.string())),
    env: v.optional(v.array(v.string())),
    timeout: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1, "must be greater than zero"))),
  });
  const hookList = v.optional(v.array(hook));
  return v.looseObject({
    prestart: hookList, createRuntime: hookList, createContainer: hookList,
    startContainer: hookList, poststart: hookList, poststop: hookList,
  });
});

import { RLIMIT_TYPES } from "./rlimits";
export { RLIMIT_TYPES };
const u64 = v.pipe(v.number(), v.integer(), v.minValue(0));

/** "0-3,7": CPUs or NUMA nodes, as the kernel's list format. */
const idList = () => v.pipe(v.string(), v.regex(/^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$/, "must be a list like 0-3,7"));

export const SCHED_POLICIES = ["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"] as const;
export const SCHED_FLAGS = ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX"] as const;
export const IOPRIO_CLASSES = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"] as const;
export const MEMORY_POLICY_MODES = ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"] as const;
export const MEMORY_POLICY_FLAGS = ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"] as const;
const int32 = v.pipe(v.number(), v.integer(), v.minValue(-(2 ** 31)), v.maxValue(2 ** 31 - 1));

export const SchedulerSchema = lazily(() => v.looseObject({
  policy: v.picklist(SCHED_POLICIES, (i) => `unknown policy ${JSON.stringify(i.input)}`),
  nice: v.optional(int32), priority: v.optional(int32),
  flags: v.optional(v.array(v.picklist(SCHED_FLAGS, (i) => `unknown flag ${JSON.stringify(i.input)}`))),
  runtime: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  deadline: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  period: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
}));

export const ProcessSchema = v.looseObject({
  terminal: v.optional(v.boolean(), false),
  consoleSize: v.optional(lazily(() => v.looseObject({ height: u32, width: u32 }))),
  user: v.optional(v.looseObject({
    uid: v.optional(u32, 0), gid: v.optional(u32, 0), umask: v.optional(u32),
    additionalGids: v.optional(v.array(u32)),
  }), { uid: 0, gid: 0 }),
  args: v.pipe(v.array(v.string()), v.minLength(1, "must name the program to run")),
  commandLine: v.optional(v.string()),
  env: v.optional(v.array(v.pipe(v.string(), v.check((s) => s.includes("="), "must be KEY=VALUE"))), []),
  cwd: v.pipe(absolutePath),
  capabilities: v.optional(v.looseObject({
    bounding: v.optional(v.array(v.string())), effective: v.optional(v.array(v.string())),
    inheritable: v.optional(v.array(v.string())), permitted: v.optional(v.array(v.string())),
    ambient: v.optional(v.array(v.string())),
  })),
  rlimits: v.optional(v.array(v.looseObject({
    type: v.picklist(RLIMIT_TYPES, (i) => `unknown rlimit ${JSON.stringify(i.input)}`),
    soft: u64, hard: u64,
  }))),
  noNewPrivileges: v.optional(v.boolean(), false),
  apparmorProfile: v.optional(v.string()),
  oomScoreAdj: v.optional(v.pipe(v.number(), v.integer(), v.minValue(-1000), v.maxValue(1000))),
  selinuxLabel: v.optional(v.string()),
  scheduler: v.optional(SchedulerSchema),
  ioPriority: v.optional(lazily(() => v.looseObject({
    class: v.picklist(IOPRIO_CLASSES, (i) => `unknown class ${JSON.stringify(i.input)}`),
    priority: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(7)),
  }))),
  execCPUAffinity: v.optional(lazily(() => v.looseObject({ initial: v.optional(v.union([v.literal(""), idList()])), final: v.optional(v.union([v.literal(""), idList()])) }))),
});

export const MountSchema = v.looseObject({
  destination: v.pipe(v.string(), v.minLength(1, "must not be empty"), noControl),
  source: v.optional(v.string()),
  type: v.optional(v.string()),
  options: v.optional(v.array(v.string())),
  uidMappings: v.optional(v.array(v.lazy(() => IdMappingSchema))),
  gidMappings: v.optional(v.array(v.lazy(() => IdMappingSchema))),
});

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;
export const IdMappingSchema = v.looseObject({ containerID: u32, hostID: u32, size: v.pipe(u32, v.minValue(1)) });

export const DeviceSchema = lazily(() => v.looseObject({
  type: v.picklist(["c", "b", "u", "p"], (i) => `unknown device type ${JSON.stringify(i.input)}`),
  path: absolutePath,
  major: v.optional(i64), minor: v.optional(i64),
  fileMode: v.optional(u32), uid: v.optional(u32), gid: v.optional(u32),
}));

export const LinuxSchema = v.looseObject({
  namespaces: v.optional(v.array(v.looseObject({
    type: v.picklist(NAMESPACE_TYPES, (i) => `unknown namespace type ${JSON.stringify(i.input)}`),
    // "" is no path, as runc and crun read it (Go's omitempty): a namespace of its own.
    path: v.optional(v.union([v.pipe(v.literal(""), v.transform(() => undefined)), absolutePath], "must be an absolute path")),
  })), []),
  uidMappings: v.optional(v.array(IdMappingSchema)),
  gidMappings: v.optional(v.array(IdMappingSchema)),
  timeOffsets: v.optional(lazily(() => v.record(v.picklist(["monotonic", "boottime"]), v.looseObject({ secs: v.optional(i64, 0), nanosecs: v.optional(u32, 0) })))),
  devices: v.optional(v.array(DeviceSchema)),
  cgroupsPath: v.optional(v.string()),
  resources: v.optional(LinuxResourcesSchema),
  rootfsPropagation: v.optional(lazily(() => v.picklist(["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"], (i) => `unknown propagation ${JSON.stringify(i.input)}`))),
  seccomp: v.optional(SeccompSchema),
  sysctl: v.optional(v.record(v.string(), v.string())),
  maskedPaths: v.optional(v.array(absolutePath)),
  readonlyPaths: v.optional(v.array(absolutePath)),
  mountLabel: v.optional(v.string()),
  personality: v.optional(lazily(() => v.looseObject({
    domain: v.picklist(["LINUX", "LINUX32"], (i) => `unknown domain ${JSON.stringify(i.input)}`),
    flags: v.optional(v.array(v.string())),
  }))),
  netDevices: v.optional(lazily(() => v.record(v.string(), v.looseObject({ name: v.optional(v.string()) })))),
  memoryPolicy: v.optional(lazily(() => v.looseObject({
    mode: v.picklist(MEMORY_POLICY_MODES, (i) => `unknown mode ${JSON.stringify(i.input)}`),
    nodes: v.optional(v.union([v.literal(""), idList()])),
    flags: v.optional(v.array(v.picklist(MEMORY_POLICY_FLAGS, (i) => `unknown flag ${JSON.stringify(i.input)}`))),
  }))),
  intelRdt: v.optional(v.any()),
});

export const ConfigSchema = v.pipe(
  v.looseObject({
    ociVersion: v.pipe(v.string(), v.regex(/^1\.\d+\.\d+/, "must be a 1.x.y runtime-spec version")),
    root: v.optional(v.looseObject({ path: v.pipe(v.string(), v.minLength(1, "must not be empty"), noControl), readonly: v.optional(v.boolean(), false) })),
    mounts: v.optional(v.array(MountSchema), []),
    process: v.optional(ProcessSchema),
    hostname: v.optional(v.string()),
    domainname: v.optional(v.string()),
    hooks: v.optional(HooksSchema),
    annotations: v.optional(v.record(v.string(), v.string())),
    linux: v.optional(LinuxSchema, { namespaces: [] }),
  }),
  v.check((c) => !!c.root, "root: is required on Linux"),
);

export type Config = v.InferOutput<typeof ConfigSchema>;
export type Process = v.InferOutput<typeof ProcessSchema>;
export type Mount = v.InferOutput<typeof MountSchema>;
export type Hook = NonNullable<Hooks["prestart"]>[number];
export type Hooks = v.InferOutput<typeof HooksSchema>;
export type Linux = v.InferOutput<typeof LinuxSchema>;
export type IdMapping = v.InferOutput<typeof IdMappingSchema>;
export type Device = v.InferOutput<typeof DeviceSchema>;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];
