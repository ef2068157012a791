// bpf(2) for cgroup device programs: the union bpf_attr of each command laid out here, so
// that src/linux/cgroups/bpf.ts only compiles rules to instructions.
import { checkedSyscall, ptr } from "./libc";

const BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9, BPF_PROG_GET_FD_BY_ID = 13, BPF_PROG_QUERY = 16;

function bpf(cmd: number, attr: Uint8Array, what: string): number {
  return Number(checkedSyscall(`bpf(${what})`, [cmd, ptr(attr), attr.byteLength]));
}

/** Loads a program (`insns`: struct bpf_insn[]); a refusal carries the verifier's log in its message. */
export function bpfProgLoad(progType: number, insns: Uint8Array, name: string, license: string): number {
  const licenseBytes = new TextEncoder().encode(license + "\0");
  const log = new Uint8Array(65536);
  const attr = new Uint8Array(128);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, progType, true);
  dv.setUint32(4, insns.byteLength / 8, true);
  dv.setBigUint64(8, BigInt(ptr(insns)), true);
  dv.setBigUint64(16, BigInt(ptr(licenseBytes)), true);
  dv.setUint32(24, 1, true); // log_level: the verifier's reason if it refuses
  dv.setUint32(28, log.byteLength, true);
  dv.setBigUint64(32, BigInt(ptr(log)), true);
  attr.set(new TextEncoder().encode(name.slice(0, 15)), 48); // prog_name
  try {
    return bpf(BPF_PROG_LOAD, attr, "BPF_PROG_LOAD");
  } catch (e: any) {
    const msg = new TextDecoder().decode(log.subarray(0, log.indexOf(0))).trim();
    if (msg) e.message += `\n${msg}`;
    throw e;
  }
}

/** IDs of the programs of `attachType` attached to the cgroup `cgroupFd` (at most 64). */
export function bpfProgQuery(cgroupFd: number, attachType: number): number[] {
  const ids = new Uint32Array(64);
  const attr = new Uint8Array(40);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, cgroupFd, true);
  dv.setUint32(4, attachType, true);
  dv.setBigUint64(16, BigInt(ptr(ids)), true);
  dv.setUint32(24, ids.length, true);
  bpf(BPF_PROG_QUERY, attr, "BPF_PROG_QUERY");
  return Array.from(ids.subarray(0, dv.getUint32(24, true)));
}

function attachAttr(cgroupFd: number, progFd: number, attachType: number, flags: number): Uint8Array {
  const attr = new Uint8Array(20);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, cgroupFd, true);
  dv.setUint32(4, progFd, true);
  dv.setUint32(8, attachType, true);
  dv.setUint32(12, flags, true);
  return attr;
}

export function bpfProgAttach(cgroupFd: number, progFd: number, attachType: number, flags: number): void {
  bpf(BPF_PROG_ATTACH, attachAttr(cgroupFd, progFd, attachType, flags), "BPF_PROG_ATTACH");
}

export function bpfProgDetach(cgroupFd: number, progFd: number, attachType: number): void {
  bpf(BPF_PROG_DETACH, attachAttr(cgroupFd, progFd, attachType, 0), "BPF_PROG_DETACH");
}

/** An fd of the loaded program with this id (close it after). */
export function bpfProgGetFdById(id: number): number {
  const attr = new Uint8Array(12);
  new DataView(attr.buffer).setUint32(0, id, true);
  return bpf(BPF_PROG_GET_FD_BY_ID, attr, "BPF_PROG_GET_FD_BY_ID");
}
