// AppArmor and SELinux: bunc applies neither, so a profile or label asked for on a host
// without that LSM is refused rather than silently dropped (as runc refuses it).
import { existsSync, readFileSync } from "node:fs";
import type { Config } from "../spec/schema";
import { BuncError } from "../sys/errors";
import { parseMountInfo, readMountInfo } from "./mountinfo";

export function apparmorEnabled(): boolean {
  try {
    return readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y";
  } catch {
    return false;
  }
}

export function selinuxEnabled(mountinfo = readMountInfo): boolean {
  const mounted = parseMountInfo(mountinfo()).some((m) => m.fstype === "selinuxfs" && m.mountPoint === "/sys/fs/selinux");
  return mounted && existsSync("/sys/fs/selinux/enforce");
}

/** Throws for a profile or label (empty strings are unset) the host cannot enforce. */
export function validateLabels(config: Config, host = { apparmor: apparmorEnabled, selinux: () => selinuxEnabled() }): void {
  const p = config.process;
  if (p?.apparmorProfile && !host.apparmor()) throw new BuncError("process.apparmorProfile: AppArmor is not enabled on this host");
  if (p?.selinuxLabel && !host.selinux()) throw new BuncError("process.selinuxLabel: SELinux is not enabled on this host");
  if (config.linux.mountLabel && !host.selinux()) throw new BuncError("linux.mountLabel: SELinux is not enabled on this host");
}
