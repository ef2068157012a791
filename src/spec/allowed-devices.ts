// runc's AllowedDevices, in a module without valibot: the lifecycle's cgroup glue loads it
// without the schemas (re-exported by resources.ts).

/** A device rule as resources.ts's DeviceRuleSchema gives it (declared here: no import cycle). */
interface AllowedDevice { allow: boolean; type: "b" | "c"; major: number; minor: number; access: string }

/** Devices every container may use (runc's AllowedDevices); the lifecycle appends them to the spec's list. */
export const DEFAULT_ALLOWED_DEVICES: AllowedDevice[] = [
  { allow: true, type: "c", major: -1, minor: -1, access: "m" },   // mknod of any char device
  { allow: true, type: "b", major: -1, minor: -1, access: "m" },   // mknod of any block device
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },   // /dev/null
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },   // /dev/zero
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" },   // /dev/full
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" },   // /dev/random
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" },   // /dev/urandom
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" },   // /dev/tty
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },   // /dev/ptmx
  { allow: true, type: "c", major: 136, minor: -1, access: "rwm" }, // /dev/pts/*
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // /dev/net/tun
];
