// runtime-spec features.md: what bunc really supports on this host.
import { pathExists } from "../sys/files";
import { CAPABILITIES, lastCap } from "../linux/capabilities";
import { MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES, NAMESPACE_TYPES } from "../spec/schema";
import { detectLayout } from "../linux/cgroups";
import { seccompFeatures } from "../linux/seccomp";
import { OCI_VERSION } from "./state";
import { KNOWN_MOUNT_OPTIONS } from "../linux/mount-options";

// Every mount option bunc applies, the recursive r* ones (mount_setattr) included.
const MOUNT_OPTIONS = KNOWN_MOUNT_OPTIONS();

export function features() {
  const layout = detectLayout();
  const sc = seccompFeatures();
  return {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: NAMESPACE_TYPES.filter((t) => t !== "time" || pathExists("/proc/self/ns/time")),
      capabilities: CAPABILITIES.slice(0, lastCap() + 1),
      cgroup: { v1: layout.mode !== "v2", v2: layout.mode !== "v1", systemd: true, systemdUser: true, rdma: false },
      seccomp: { enabled: sc.enabled, actions: sc.actions, operators: sc.operators, archs: sc.archs, knownFlags: sc.knownFlags, supportedFlags: sc.supportedFlags },
      // features.md: whether this build supports it, whatever the host runs. AppArmor profiles
      // and SELinux labels (exec label, context= of mounts, the keyring) are applied
      // (src/linux/lsm.ts); one asked for on a host without that LSM is refused.
      apparmor: { enabled: true },
      selinux: { enabled: true },
      intelRdt: { enabled: false, schemata: false, monitoring: false },
      mountExtensions: { idmap: { enabled: true } },
      // Spec 1.3: applied by the native init (process.scheduler, ioPriority, execCPUAffinity, personality too).
      memoryPolicy: pathExists("/proc/self/numa_maps")
        ? { modes: [...MEMORY_POLICY_MODES], flags: [...MEMORY_POLICY_FLAGS] }
        : { modes: [], flags: [] },
      netDevices: { enabled: true },
    },
    // Spec 1.3: config annotations that change how bunc runs (none do).
    // runc's: with --systemd-cgroup, org.systemd.property.<Name> sets any property of the unit.
    potentiallyUnsafeConfigAnnotations: ["org.systemd.property."],
    annotations: { "org.opencontainers.runc.checkpoint.enabled": "false", "run.bunc.version": "0.1.0" },
  };
}
