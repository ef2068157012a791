// Glue between the container lifecycle and the cgroups library (src/linux/cgroups):
// which cgroup a container gets, which device rules it ends up with, and how a saved
// container finds its cgroups again.
// The manager itself, not the library's index: that re-exports the valibot schemas, which
// kill --all, delete, exec and the others that find a container's cgroups do not need.
import { CgroupManager } from "../linux/cgroups/manager";
import type { LinuxResources } from "../linux/cgroups";
import { DEFAULT_ALLOWED_DEVICES } from "../spec/allowed-devices";
import type { Config } from "../spec/schema";
import { BuncError } from "../sys/errors";
import type { Container, StoredState } from "./state";

export type Warn = (m: string) => void;

/** The resources to write: the config's, with device rules completed as runc does. */
export function effectiveResources(config: Config): LinuxResources {
  const r = (config.linux.resources ?? {}) as LinuxResources;
  // Without any rule the container keeps the host's device access (runc does the same).
  if (!r.devices?.length) return r;
  // linux.devices makes nodes; access is resources.devices' alone (as runc), plus the
  // default allowed list.
  return { ...r, devices: [...r.devices, ...DEFAULT_ALLOWED_DEVICES] };
}

/** The container's cgroups to make; `systemd`: the systemd driver (--systemd-cgroup), its unit saved in the state. */
export function newCgroups(id: string, config: Config, warn: Warn, systemd = false, debug?: Warn): CgroupManager {
  return CgroupManager.forContainer(id, config.linux.cgroupsPath, { warn, systemd, debug, annotations: config.annotations });
}

/** The cgroups of an existing container, from the paths saved at create. */
export function containerCgroups(state: StoredState, warn: Warn, debug?: Warn): CgroupManager | undefined {
  if (!state.cgroupPaths || !Object.keys(state.cgroupPaths).length) return undefined;
  return CgroupManager.fromPaths(state.cgroupPaths, { warn, systemdUnit: state.systemdUnit, debug });
}

/** The container's cgroups, for the operations that need them: pause, resume, update, events. */
export function requireCgroups(c: Container, warn: Warn, debug?: Warn): CgroupManager {
  const cg = containerCgroups(c.state, warn, debug);
  if (!cg) throw new BuncError(`container ${c.id} has no cgroup of its own (rootless, no delegated cgroup tree): nothing to freeze, limit or list`);
  return cg;
}
