// The seccomp filter compiled at create, saved beside state.json (as crun does): an `exec`
// installs that filter again instead of compiling the profile, which with podman's default
// profile cost every exec ~5 ms and the compiler's modules. The process gets the filter its
// container's init has, whichever bunc compiled it.
import type { SeccompProfile } from "../spec/seccomp";
import { decodeProgram, encodeProgram, profileFlags, type Seccomp } from "../linux/seccomp/install";
import { readBytes, writeText } from "../sys/files";
import { join } from "../sys/paths";
import { SECCOMP_FILE } from "./state";

/** The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
const MAX_INSTRUCTIONS = 4096;

export function saveFilter(stateDir: string, seccomp: Seccomp): void {
  writeText(join(stateDir, SECCOMP_FILE), encodeProgram(seccomp.program), 0o600);
}

/**
 * The filter saved at create, with the profile's flags and agent; undefined when none was
 * saved (a container of a bunc before this file) or it is not a whole program.
 */
export function savedFilter(stateDir: string, profile: SeccompProfile): Seccomp | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readBytes(join(stateDir, SECCOMP_FILE));
  } catch {
    return undefined;
  }
  if (!bytes.length || bytes.length % 8 || bytes.length > MAX_INSTRUCTIONS * 8) return undefined;
  // The native init takes the bytes as they are; only the Bun init (no native one) needs the instructions.
  return {
    get program() { return decodeProgram(bytes); },
    encoded: bytes, flags: profileFlags(profile), listenerPath: profile.listenerPath, listenerMetadata: profile.listenerMetadata,
  };
}
