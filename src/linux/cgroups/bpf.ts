// cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program compiled from the
// OCI device rules, loaded with BPF_PROG_LOAD and attached to the cgroup directory.
import { ptr } from "bun:ffi";
import { closeSync, openSync } from "node:fs";
import { check, SYS, syscall } from "../../sys/libc";
import type { DeviceRule } from "./schema";
import { accessMask, checkType } from "./devices";

const BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9, BPF_PROG_GET_FD_BY_ID = 13, BPF_PROG_QUERY = 16;
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

function bpf(cmd: number, attr: Uint8Array, what: string): number {
  return Number(check(`bpf(${what})`, syscall(SYS.bpf, cmd, ptr(attr), attr.byteLength)));
}

function loadProgram(insns: Uint8Array): number {
  const license = new TextEncoder().encode("Apache-2.0\0");
  const log = new Uint8Array(65536);
  const attr = new Uint8Array(128);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
  dv.setUint32(4, insns.byteLength / 8, true);
  dv.setBigUint64(8, BigInt(ptr(insns)), true);
  dv.setBigUint64(16, BigInt(ptr(license)), true);
  dv.setUint32(24, 1, true); // log_level: the verifier's reason if it refuses
  dv.setUint32(28, log.byteLength, true);
  dv.setBigUint64(32, BigInt(ptr(log)), true);
  attr.set(new TextEncoder().encode("bunc_devices"), 48); // prog_name
  try {
    return bpf(BPF_PROG_LOAD, attr, "BPF_PROG_LOAD");
  } catch (e: any) {
    const msg = new TextDecoder().decode(log.subarray(0, log.indexOf(0))).trim();
    if (msg) e.message += `\n${msg}`;
    throw e;
  }
}

/** IDs of the device programs already attached to the cgroup (replaced on update). */
function attachedPrograms(cgroupFd: number): number[] {
  const ids = new Uint32Array(64);
  const attr = new Uint8Array(40);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, cgroupFd, true);
  dv.setUint32(4, BPF_CGROUP_DEVICE, true);
  dv.setBigUint64(16, BigInt(ptr(ids)), true);
  dv.setUint32(24, ids.length, true);
  bpf(BPF_PROG_QUERY, attr, "BPF_PROG_QUERY");
  return Array.from(ids.subarray(0, dv.getUint32(24, true)));
}

function attachAttr(cgroupFd: number, progFd: number, flags: number): Uint8Array {
  const attr = new Uint8Array(20);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, cgroupFd, true);
  dv.setUint32(4, progFd, true);
  dv.setUint32(8, BPF_CGROUP_DEVICE, true);
  dv.setUint32(12, flags, true);
  return attr;
}

/** Load the rules as a program and attach it to the cgroup dir; earlier bunc programs are detached after. */
export function setDevicesV2(dir: string, rules: DeviceRule[]): void {
  const insns = encode(deviceProgram(rules));
  const cg = openSync(dir, "r");
  let prog = -1;
  try {
    const old = attachedPrograms(cg);
    prog = loadProgram(insns);
    bpf(BPF_PROG_ATTACH, attachAttr(cg, prog, BPF_F_ALLOW_MULTI), "BPF_PROG_ATTACH");
    // Attach-then-detach: there is never a moment without a device filter.
    for (const id of old) {
      const idAttr = new Uint8Array(12);
      new DataView(idAttr.buffer).setUint32(0, id, true);
      const oldFd = bpf(BPF_PROG_GET_FD_BY_ID, idAttr, "BPF_PROG_GET_FD_BY_ID");
      try {
        bpf(BPF_PROG_DETACH, attachAttr(cg, oldFd, 0), "BPF_PROG_DETACH");
      } finally {
        closeSync(oldFd);
      }
    }
  } finally {
    if (prog >= 0) closeSync(prog);
    closeSync(cg);
  }
}

export const _test = { attachedPrograms };
