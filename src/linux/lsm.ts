// AppArmor and SELinux. bunc applies AppArmor profiles (the native init, or the Bun init,
// writes "exec <profile>" to its attr/apparmor/exec right before execve, as runc); SELinux
// labels it does not apply yet. A profile or label asked for on a host without that LSM is
// refused rather than silently dropped (as runc refuses it), and so is a profile the kernel
// has not loaded: create fails naming it, before anything is made.
import { existsSync, readFileSync } from "node:fs";
import type { Config } from "../spec/schema";
import { BuncError } from "../sys/errors";
import { parseMountInfo, readMountInfo } from "./mountinfo";

export const APPARMOR_PROFILES = "/sys/kernel/security/apparmor/profiles";

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

/** The names in AppArmor's profiles list: one "name (mode)" a line (mode: enforce, complain, kill, ...). */
export function parseApparmorProfiles(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.replace(/ \([^()]*\)$/, "").trim();
    if (name) names.add(name);
  }
  return names;
}

/** The loaded profiles, or undefined when the list cannot be read (it is the policy admin's: root in the host's user namespace). */
export function loadedApparmorProfiles(path = APPARMOR_PROFILES): Set<string> | undefined {
  try {
    return parseApparmorProfiles(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Throws, naming it, for a profile that is not loaded. "unconfined" is no profile; a stack
 * ("a//&b") or a profile of another policy namespace (":ns:name") is left to the kernel, which
 * refuses an unknown one at start; so is everything when the list cannot be read.
 */
export function checkApparmorProfile(profile: string, loaded: Set<string> | undefined, field = "process.apparmorProfile"): void {
  if (profile === "unconfined" || profile.startsWith(":") || profile.includes("//&") || loaded === undefined) return;
  if (!loaded.has(profile)) throw new BuncError(`${field}: AppArmor profile "${profile}" is not loaded (${APPARMOR_PROFILES}; load it with apparmor_parser)`);
}

export interface LsmHost {
  apparmor: () => boolean;
  selinux: () => boolean;
  /** The loaded AppArmor profiles (undefined: cannot tell). */
  apparmorProfiles?: () => Set<string> | undefined;
}

const HOST: LsmHost = { apparmor: apparmorEnabled, selinux: () => selinuxEnabled(), apparmorProfiles: () => loadedApparmorProfiles() };

/** Throws for process.apparmorProfile (empty is unset) the host cannot apply: AppArmor off, or the profile not loaded. */
export function validateApparmorProfile(profile: string | undefined, host: LsmHost = HOST, field = "process.apparmorProfile"): void {
  if (!profile) return;
  if (!host.apparmor()) throw new BuncError(`${field}: AppArmor is not enabled on this host`);
  checkApparmorProfile(profile, host.apparmorProfiles?.(), field);
}

/** Throws for a profile or label (empty strings are unset) the host cannot enforce. */
export function validateLabels(config: Config, host: LsmHost = HOST): void {
  const p = config.process;
  validateApparmorProfile(p?.apparmorProfile, host);
  if (p?.selinuxLabel && !host.selinux()) throw new BuncError("process.selinuxLabel: SELinux is not enabled on this host");
  if (config.linux.mountLabel && !host.selinux()) throw new BuncError("linux.mountLabel: SELinux is not enabled on this host");
}
