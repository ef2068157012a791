// seccomp for bunc: schema, compiler, installer, default profile and `features` report.
import { readText } from "../../sys/files";
import { actionValue, nativeArch } from "./compile";
import { seccompActionAvailable, seccompFlagSupported } from "./install";
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS, type SeccompFlagName } from "../../spec/seccomp";

export * from "../../spec/seccomp";
export { compileSeccomp, actionValue, nativeArch, SECCOMP_RET, AUDIT_ARCH, type Arch, type NativeArch, type CompileOptions } from "./compile";
export type { BpfInstruction } from "./bpf";
export { installSeccomp, sendSeccompListener, connectUnix, encodeProgram, decodeProgram, filterFlags, profileFlags } from "./install";
export { defaultSeccompProfile, DEFAULT_CAPABILITIES, type DefaultProfileOptions } from "./default";

/** Architectures whose syscalls a filter compiled here can name. */
function filterableArches(): string[] {
  return nativeArch() === "x86_64" ? ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"] : ["SCMP_ARCH_AARCH64"];
}

/** runtime-spec features.md `linux.seccomp`, probed from the running kernel. */
export function seccompFeatures(): {
  enabled: boolean; actions: string[]; operators: string[]; archs: string[];
  knownFlags: string[]; supportedFlags: string[];
} {
  let enabled = false;
  try {
    enabled = /^Seccomp:\s/m.test(readText("/proc/self/status"));
  } catch {}
  const knownFlags = (Object.keys(SECCOMP_FLAGS) as SeccompFlagName[]).filter((f) => f !== "SECCOMP_FILTER_FLAG_NEW_LISTENER" && f !== "SECCOMP_FILTER_FLAG_TSYNC_ESRCH");
  return {
    enabled,
    actions: enabled ? SECCOMP_ACTIONS.filter((a) => seccompActionAvailable(actionValue(a) & 0xffff0000)) : [],
    operators: [...SECCOMP_OPERATORS],
    archs: SECCOMP_ARCHES.filter((a) => filterableArches().includes(a)),
    knownFlags,
    supportedFlags: enabled ? knownFlags.filter((f) => seccompFlagSupported(SECCOMP_FLAGS[f] | (f === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" ? SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_NEW_LISTENER : 0))) : [],
  };
}
