// The default config.json of `bunc spec`, shaped like runc's: an `sh` in a fresh set of
// namespaces with the usual mounts, masked paths and the default capability set.
import { pathExists } from "../sys/files";

export const DEFAULT_CAPABILITIES = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export const DEFAULT_MASKED_PATHS = [
  "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
  "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
];
export const DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export interface DefaultSpecOptions {
  rootless?: boolean;
  args?: string[];
  terminal?: boolean;
  hostname?: string;
  cwd?: string;
  env?: string[];
  rootfs?: string;
  /** A cgroup namespace; default as runc 1.1: only on a unified (cgroup v2) host. */
  cgroupNamespace?: boolean;
}

/** A unified cgroup v2 host: cgroup2 mounted at /sys/fs/cgroup itself (runc's test for the cgroup namespace). */
export function isUnifiedCgroupHost(): boolean {
  return pathExists("/sys/fs/cgroup/cgroup.controllers");
}

export function defaultSpec(o: DefaultSpecOptions = {}) {
  const caps = [...DEFAULT_CAPABILITIES];
  const mounts: any[] = [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", ...(o.rootless ? [] : ["gid=5"])] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    o.rootless
      ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] }
      : { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
  ];
  // Rootless too, as runc's rootless spec: `rbind,ro` makes only the top of /sys read-only, and
  // the host's cgroup mounts it brings along would be writable (CVE-2023-25809).
  mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] });
  const namespaces = [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (o.cgroupNamespace ?? isUnifiedCgroupHost()) namespaces.push({ type: "cgroup" });
  if (o.rootless) {
    namespaces.splice(1, 1); // rootless containers share the host network, as runc's rootless spec does
    namespaces.push({ type: "user" });
  }
  const uid = process.getuid?.() ?? 0, gid = process.getgid?.() ?? 0;
  const linux: Record<string, unknown> = {
    ...(o.rootless
      ? { uidMappings: [{ containerID: 0, hostID: uid, size: 1 }], gidMappings: [{ containerID: 0, hostID: gid, size: 1 }] }
      : { resources: { devices: [{ allow: false, access: "rwm" }] } }),
    namespaces,
    maskedPaths: DEFAULT_MASKED_PATHS,
    readonlyPaths: DEFAULT_READONLY_PATHS,
  };
  return {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: o.terminal ?? true,
      user: { uid: 0, gid: 0 },
      args: o.args ?? ["sh"],
      env: o.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: o.cwd ?? "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs ?? "rootfs", readonly: true },
    hostname: o.hostname ?? "bunc",
    mounts,
    linux,
  };
}
