// The default profile for `bunc spec`: podman's containers-common profile (Apache-2.0, see
// fixtures/seccomp/README.md) resolved, as podman does, for one arch and capability set.
import raw from "./containers-common.json";
import { nativeArch, type NativeArch } from "./compile";
import type { SeccompArch, SeccompProfile, SeccompSyscall } from "../../spec/seccomp";

interface Filter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}
type RawSyscall = SeccompSyscall & { includes?: Filter; excludes?: Filter; comment?: string };

/** runc spec's default capabilities; the profile drops rules these do not allow. */
export const DEFAULT_CAPABILITIES = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

const GOARCH: Record<NativeArch, string> = { x86_64: "amd64", aarch64: "arm64" };
const ARCHES: Record<NativeArch, SeccompArch[]> = {
  x86_64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  aarch64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
};

export interface DefaultProfileOptions {
  arch?: NativeArch;
  capabilities?: readonly string[];
}

export function defaultSeccompProfile(opts: DefaultProfileOptions = {}): SeccompProfile {
  const arch = opts.arch ?? nativeArch();
  const caps = new Set(opts.capabilities ?? DEFAULT_CAPABILITIES);
  const goarch = GOARCH[arch];
  const keep = (r: RawSyscall) => {
    const inc = r.includes ?? {}, exc = r.excludes ?? {};
    if (inc.arches?.length && !inc.arches.includes(goarch)) return false;
    if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) return false;
    if (exc.arches?.includes(goarch)) return false;
    if (exc.caps?.some((c) => caps.has(c))) return false;
    return true;
  };
  const syscalls = (raw.syscalls as RawSyscall[]).filter(keep).map((r): SeccompSyscall => {
    const out: SeccompSyscall = { names: [...r.names], action: r.action };
    if (r.errnoRet !== undefined) out.errnoRet = r.errnoRet;
    if (r.args?.length) out.args = r.args.map((a) => ({ index: a.index, value: a.value, valueTwo: a.valueTwo ?? 0, op: a.op }));
    return out;
  });
  return {
    defaultAction: raw.defaultAction as SeccompProfile["defaultAction"],
    defaultErrnoRet: raw.defaultErrnoRet,
    architectures: ARCHES[arch],
    syscalls,
  };
}
