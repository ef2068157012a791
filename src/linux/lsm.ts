// AppArmor and SELinux, applied as runc applies them. Right before execve the init (the
// native one, or the Bun init) writes its own task's exec attributes: "exec <profile>" to
// attr/apparmor/exec, process.selinuxLabel to attr/exec (SELinux's), each file opened through
// the host's /proc before the container's filesystem is entered (see native-init.c,
// open_attrs). With SELinux, the session keyring is made under the process label
// (attr/keycreate) and linux.mountLabel goes into the mounts as context="<label>"
// (mount-options.ts). A profile or label asked for on a host without that LSM is refused
// rather than silently dropped (runc refuses a process label; a mount label makes its
// mounts fail), and so is a profile the kernel has not loaded: create fails naming it,
// before anything is made.
import type { Config, Process } from "../spec/schema";
import { BuncError } from "../sys/errors";
import { SyscallError } from "../sys/libc";
import { O } from "../sys/arch";
import type { Syscalls } from "../sys/syscalls";
import { parseMountInfo, readMountInfo } from "./mountinfo";
import { pathExists, readText } from "../sys/files";

export const APPARMOR_PROFILES = "/sys/kernel/security/apparmor/profiles";

export function apparmorEnabled(): boolean {
  try {
    return readText("/sys/module/apparmor/parameters/enabled").trim() === "Y";
  } catch {
    return false;
  }
}

export function selinuxEnabled(mountinfo = readMountInfo): boolean {
  const mounted = parseMountInfo(mountinfo()).some((m) => m.fstype === "selinuxfs" && m.mountPoint === "/sys/fs/selinux");
  return mounted && pathExists("/sys/fs/selinux/enforce");
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
    return parseApparmorProfiles(readText(path));
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

/**
 * Throws for an SELinux label (empty is unset) the host cannot apply: SELinux off (runc:
 * "selinux label is specified in config, but selinux is disabled"), or a label no policy
 * could hold (a NUL, a newline, or a double quote, which would end the quoted context=).
 */
export function validateSelinuxLabel(label: string | undefined, host: LsmHost = HOST, field = "process.selinuxLabel"): void {
  if (!label) return;
  if (!host.selinux()) throw new BuncError(`${field}: SELinux is not enabled on this host`);
  if (/["\n\0]/.test(label)) throw new BuncError(`${field}: "${label.replace(/[\n\0]/g, "?")}" is not an SELinux context`);
}

/** Throws for a profile or label (empty strings are unset) the host cannot enforce. */
export function validateLabels(config: Config, host: LsmHost = HOST): void {
  const p = config.process;
  validateApparmorProfile(p?.apparmorProfile, host);
  validateSelinuxLabel(p?.selinuxLabel, host);
  validateSelinuxLabel(config.linux.mountLabel, host, "linux.mountLabel");
}

/** linux.mountLabel as the mounts take it: unset without SELinux (runc's label package does nothing then). */
export function effectiveMountLabel(config: Config, selinux: () => boolean = HOST.selinux): string | undefined {
  const label = config.linux.mountLabel;
  return label && selinux() ? label : undefined;
}

/**
 * An LSM attribute of the init's own task, written right before execve so that it applies
 * to the program: `names` below attr/ (the first that exists), `value` what is written.
 */
export interface ExecAttr {
  field: "process.apparmorProfile" | "process.selinuxLabel";
  /** For messages: `AppArmor profile "x"`. */
  subject: string;
  names: string[];
  value: string;
  fd?: number;
}

/** What the process's profile and label ask to be written, AppArmor's first (an empty one is unset). */
export function execAttrs(p: Pick<Process, "apparmorProfile" | "selinuxLabel">): ExecAttr[] {
  const attrs: ExecAttr[] = [];
  // attr/apparmor/exec from Linux 5.8; the shared attr/exec before.
  if (p.apparmorProfile) attrs.push({ field: "process.apparmorProfile", subject: `AppArmor profile "${p.apparmorProfile}"`, names: ["apparmor/exec", "exec"], value: `exec ${p.apparmorProfile}` });
  if (p.selinuxLabel) attrs.push({ field: "process.selinuxLabel", subject: `SELinux label "${p.selinuxLabel}"`, names: ["exec"], value: p.selinuxLabel });
  return attrs;
}

function attrError(a: ExecAttr, e: unknown): BuncError {
  const err = e as { code?: string; errno?: number; message?: string };
  const hint = err?.code === "ENOENT" && a.field === "process.apparmorProfile" ? " (not loaded)" : err?.code === "EINVAL" && a.field === "process.selinuxLabel" ? " (not a context of the loaded policy)" : "";
  return new BuncError(`${a.field}: cannot apply ${a.subject}: ${err?.code ?? err?.message ?? String(e)}${hint}`, { errno: err?.errno, code: err?.code, cause: e });
}

/**
 * Opens each attribute's file below `dir`, the calling task's attr directory in the HOST's
 * /proc: before pivot_root or setns(mnt), by the task that will exec (the kernel takes a
 * write to an attr file only from the task that opened it; the attributes are per task).
 */
export function openExecAttrs(sys: Syscalls, attrs: ExecAttr[], dir = "/proc/thread-self/attr"): ExecAttr[] {
  for (const a of attrs) {
    for (const [i, name] of a.names.entries()) {
      try {
        a.fd = sys.open(`${dir}/${name}`, O.WRONLY | O.CLOEXEC);
        break;
      } catch (e) {
        if (e instanceof SyscallError && e.errno === 2 && i < a.names.length - 1) continue;
        throw attrError(a, e);
      }
    }
  }
  return attrs;
}

/** The writes, in order, each file closed after (runc: apparmor.ApplyProfile, selinux.SetExecLabel). */
export function writeExecAttrs(sys: Syscalls, attrs: ExecAttr[]): void {
  for (const a of attrs) {
    if (a.fd === undefined) throw attrError(a, new SyscallError("open", 9 /* EBADF */, a.names[0]));
    try {
      sys.write(a.fd, a.value, `attr/${a.names[0]}`);
    } catch (e) {
      throw attrError(a, e);
    }
    sys.close(a.fd);
    a.fd = undefined;
  }
}

/**
 * The label of the keyrings this task creates next (runc: selinux.SetKeyLabel before joining
 * the session keyring), so the container's session keyring carries the process label. Done
 * where the keyring is joined, before the container's filesystem is entered; a kernel
 * without attr/keycreate is left alone (as go-selinux).
 */
export function setKeyCreateLabel(sys: Syscalls, label: string | undefined, selinux: () => boolean = HOST.selinux, dir = "/proc/thread-self/attr"): void {
  if (!label || !selinux()) return;
  let fd: number;
  try {
    fd = sys.open(`${dir}/keycreate`, O.WRONLY | O.CLOEXEC);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === 2) return;
    throw new BuncError(`process.selinuxLabel: cannot label the session keyring "${label}": ${(e as any)?.code ?? e}`, { cause: e });
  }
  try {
    sys.write(fd, label, "attr/keycreate");
  } catch (e) {
    throw new BuncError(`process.selinuxLabel: cannot label the session keyring "${label}": ${(e as any)?.code ?? e}`, { cause: e });
  } finally {
    sys.close(fd);
  }
}
