// The cgroups library: resource limits, membership, freeze, kill and stats on v1, v2 and hybrid hosts.
export { LinuxResourcesSchema, DeviceRuleSchema, DEFAULT_ALLOWED_DEVICES, type LinuxResources, type DeviceRule } from "../../spec/resources";
export { detectLayout, parseProcCgroup, type CgroupLayout, type Hierarchy } from "./layout";
export { CgroupManager, type ManagerOptions } from "./manager";
export { CgroupError, type Warn } from "./files";
export type { Stats } from "./stats";
