// cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program compiled from the
// OCI device rules, loaded with BPF_PROG_LOAD and attached to the cgroup directory.
import { bpfProgAttach, bpfProgDetach, bpfProgGetFdById, bpfProgLoad, bpfProgQuery } from "../../sys/bpf";
import type { DeviceRule } from "../../spec/resources";
import { accessMask, checkType } from "./devices";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6, BPF_F_ALLOW_MULTI = 2;
const DEV_TYPE = { b: 1, c: 2 } as const; // BPF_DEVCG_DEV_*

// Opcodes (class | op | source) used below.
const LDX_W = 0x61, AND32_K = 0x54, RSH32_K = 0x74, MOV32_K = 0xb4, MOV32_X = 0xbc;
const JEQ_K = 0x15, JNE_K = 0x55, EXIT = 0x95;

type Insn = [op: number, dst: number, src: number, off: number, imm: number];

/**
 * Registers: R2 device type, R3 requested access bits still undecided, R4 major, R5 minor.
 * Rules are walked last to first, so the last rule that covers a bit decides it, as
 * replaying them into v1's devices.allow/deny would: a matching deny rule that covers any
 * undecided bit denies; a matching allow rule decides its bits, and allows once none are left.
 * Nothing left matching: deny.
 */
export function deviceProgram(rules: DeviceRule[]): Insn[] {
  const prog: Insn[] = [
    [LDX_W, 2, 1, 0, 0], [AND32_K, 2, 0, 0, 0xffff],
    [LDX_W, 3, 1, 0, 0], [RSH32_K, 3, 0, 0, 16],
    [LDX_W, 4, 1, 4, 0],
    [LDX_W, 5, 1, 8, 0],
  ];
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i]!;
    const t = checkType(r, i);
    const mask = t === "a" ? 7 : accessMask(r.access);
    const guards: [number, number][] = []; // [register, value] that must match
    if (t !== "a") {
      guards.push([2, DEV_TYPE[t]]);
      if (r.major != null && r.major >= 0) guards.push([4, r.major]);
      if (r.minor != null && r.minor >= 0) guards.push([5, r.minor]);
    }
    const body: Insn[] = r.allow
      ? [[AND32_K, 3, 0, 0, ~mask], [JNE_K, 3, 0, 2, 0], [MOV32_K, 0, 0, 0, 1], [EXIT, 0, 0, 0, 0]]
      : [[MOV32_X, 1, 3, 0, 0], [AND32_K, 1, 0, 0, mask], [JEQ_K, 1, 0, 2, 0], [MOV32_K, 0, 0, 0, 0], [EXIT, 0, 0, 0, 0]];
    guards.forEach(([reg, val], g) => {
      const skip = guards.length - g - 1 + body.length; // jump over the rest of this rule
      prog.push([JNE_K, reg, 0, skip, val]);
    });
    prog.push(...body);
  }
  prog.push([MOV32_K, 0, 0, 0, 0], [EXIT, 0, 0, 0, 0]);
  return prog;
}

export function encode(prog: Insn[]): Uint8Array {
  const buf = new Uint8Array(prog.length * 8);
  const dv = new DataView(buf.buffer);
  prog.forEach(([op, dst, src, off, imm], i) => {
    dv.setUint8(i * 8, op);
    dv.setUint8(i * 8 + 1, (src << 4) | dst);
    dv.setInt16(i * 8 + 2, off, true);
    dv.setInt32(i * 8 + 4, imm | 0, true);
  });
  return buf;
}

/** IDs of the device programs already attached to the cgroup (replaced on update). */
function attachedPrograms(cgroupFd: number): number[] {
  return bpfProgQuery(cgroupFd, BPF_CGROUP_DEVICE);
}

/** Load the rules as a program and attach it to the cgroup dir; earlier bunc programs are detached after. */
export function setDevicesV2(dir: string, rules: DeviceRule[]): void {
  const insns = encode(deviceProgram(rules));
  const cg = nodeFs().openSync(dir, "r");
  let prog = -1;
  try {
    const old = attachedPrograms(cg);
    prog = bpfProgLoad(BPF_PROG_TYPE_CGROUP_DEVICE, insns, "bunc_devices", "Apache-2.0");
    bpfProgAttach(cg, prog, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI);
    // Attach-then-detach: there is never a moment without a device filter.
    for (const id of old) {
      const oldFd = bpfProgGetFdById(id);
      try {
        bpfProgDetach(cg, oldFd, BPF_CGROUP_DEVICE);
      } finally {
        nodeFs().closeSync(oldFd);
      }
    }
  } finally {
    if (prog >= 0) nodeFs().closeSync(prog);
    nodeFs().closeSync(cg);
  }
}

export const _test = { attachedPrograms };
