// Compiles an OCI seccomp profile into a classic BPF program for seccomp(2):
//   load arch -> per-arch section -> binary search on the syscall number -> inline return,
//   or a per-syscall block that tests argument rules in profile order.
// Rule semantics (as runc/libseccomp): the args of one rule are ANDed, except that a rule
// naming the same arg index twice becomes one rule per arg (ORed); a syscall's conditional
// rules are tried in profile order before its unconditional rule, then the default action.
import { Assembler, BPF, BPF_MAXINSNS, type BpfInstruction, type Label } from "./bpf";
import type { SeccompAction, SeccompArg, SeccompArch, SeccompProfile } from "../../spec/seccomp";
import { AARCH64, I386, X32, X86_64 } from "./tables";

export type { BpfInstruction } from "./bpf";
export type Arch = "x86_64" | "i386" | "x32" | "aarch64";
export type NativeArch = "x86_64" | "aarch64";

export const AUDIT_ARCH = { x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7 } as const;
export const X32_SYSCALL_BIT = 0x40000000;
export const SYSCALL_TABLES: Record<Arch, Record<string, number>> = { x86_64: X86_64, i386: I386, x32: X32, aarch64: AARCH64 };

export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000, KILL_THREAD: 0, TRAP: 0x00030000, ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000, TRACE: 0x7ff00000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000,
} as const;

const EPERM = 1, ENOSYS = 38;
// seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian here).
const OFF_NR = 0, OFF_ARCH = 4, argLo = (i: number) => 16 + 8 * i;

export interface CompileOptions {
  /** The machine's architecture family; default: this process's. */
  arch?: NativeArch;
  /** Told about syscall names no table knows and architectures that cannot be filtered here. */
  warn?: (message: string) => void;
}

export function nativeArch(): NativeArch {
  if (process.arch === "x64") return "x86_64";
  if (process.arch === "arm64") return "aarch64";
  throw new Error(`seccomp: unsupported architecture ${process.arch}`);
}

/** The SECCOMP_RET_* value of an action; `errno` for ERRNO/TRACE (default EPERM). */
export function actionValue(action: SeccompAction, errno: number = EPERM): number {
  switch (action) {
    case "SCMP_ACT_KILL": case "SCMP_ACT_KILL_THREAD": return SECCOMP_RET.KILL_THREAD;
    case "SCMP_ACT_KILL_PROCESS": return SECCOMP_RET.KILL_PROCESS;
    case "SCMP_ACT_TRAP": return SECCOMP_RET.TRAP;
    case "SCMP_ACT_ERRNO": return (SECCOMP_RET.ERRNO | (errno & 0xffff)) >>> 0;
    case "SCMP_ACT_TRACE": return (SECCOMP_RET.TRACE | (errno & 0xffff)) >>> 0;
    case "SCMP_ACT_LOG": return SECCOMP_RET.LOG;
    case "SCMP_ACT_ALLOW": return SECCOMP_RET.ALLOW;
    case "SCMP_ACT_NOTIFY": return SECCOMP_RET.USER_NOTIF;
  }
}

/** Which sections the filter has: the native arch always (as libseccomp), others if listed. */
function sections(native: NativeArch, listed: readonly SeccompArch[], warn: (m: string) => void): Arch[] {
  if (native === "aarch64") {
    if (listed.includes("SCMP_ARCH_ARM")) warn("seccomp: SCMP_ARCH_ARM is not supported; 32-bit arm syscalls hit the bad-arch action");
    return ["aarch64"];
  }
  const out: Arch[] = ["x86_64"];
  if (listed.includes("SCMP_ARCH_X86")) out.push("i386");
  if (listed.includes("SCMP_ARCH_X32")) out.push("x32");
  return out;
}

interface Rule {
  k: number;
  args: SeccompArg[];
}

/** Per syscall number: conditional rules in profile order, then the first unconditional one. */
function rulesFor(profile: SeccompProfile, table: Record<string, number>, defaultK: number): Map<number, { cond: Rule[]; uncond?: number }> {
  const byNr = new Map<number, { cond: Rule[]; uncond?: number }>();
  for (const r of profile.syscalls ?? []) {
    const k = actionValue(r.action, r.errnoRet);
    const args = r.args ?? [];
    const indexes = new Set(args.map((a) => a.index));
    const variants: SeccompArg[][] = indexes.size === args.length ? [args] : args.map((a) => [a]);
    for (const name of r.names) {
      const nr = table[name];
      if (nr === undefined) continue;
      let e = byNr.get(nr);
      if (!e) byNr.set(nr, (e = { cond: [] }));
      if (args.length === 0) e.uncond ??= k;
      else for (const v of variants) e.cond.push({ k, args: v });
    }
  }
  for (const e of byNr.values()) e.uncond ??= defaultK;
  return byNr;
}

const u64 = (x: number | bigint) => BigInt(x) & 0xffffffffffffffffn;
const hi32 = (x: bigint) => Number(x >> 32n);
const lo32 = (x: bigint) => Number(x & 0xffffffffn);

/** Emit one argument comparison: jump to `pass` when it holds, else to `fail`. */
function emitArg(a: Assembler, arg: SeccompArg, bits: 32 | 64, pass: Label, fail: Label): void {
  const lo = argLo(arg.index), hi = lo + 4;
  const v = u64(arg.value), v2 = u64(arg.valueTwo ?? 0);
  const ld = (off: number) => a.stmt(BPF.LD_W_ABS, off);
  // Unsigned 64-bit order: the hi words decide unless equal, then the lo words.
  const order = (loCode: number, t: Label, f: Label) => {
    if (bits === 64) {
      const next = a.label(), eq = a.label();
      ld(hi);
      a.jmp(BPF.JGT_K, hi32(v), t, next);
      a.place(next);
      a.jmp(BPF.JEQ_K, hi32(v), eq, f);
      a.place(eq);
    }
    ld(lo);
    a.jmp(loCode, lo32(v), t, f);
  };
  const equal = (mask: bigint | null, value: bigint, t: Label, f: Label) => {
    if (bits === 64) {
      const next = a.label();
      ld(hi);
      if (mask !== null) a.stmt(BPF.ALU_AND_K, hi32(mask));
      a.jmp(BPF.JEQ_K, hi32(value), next, f);
      a.place(next);
    }
    ld(lo);
    if (mask !== null) a.stmt(BPF.ALU_AND_K, lo32(mask));
    a.jmp(BPF.JEQ_K, lo32(value), t, f);
  };
  switch (arg.op) {
    case "SCMP_CMP_EQ": return equal(null, v, pass, fail);
    case "SCMP_CMP_NE": return equal(null, v, fail, pass);
    case "SCMP_CMP_GT": return order(BPF.JGT_K, pass, fail);
    case "SCMP_CMP_GE": return order(BPF.JGE_K, pass, fail);
    case "SCMP_CMP_LE": return order(BPF.JGT_K, fail, pass);
    case "SCMP_CMP_LT": return order(BPF.JGE_K, fail, pass);
    // OCI: value is the mask, valueTwo the value to compare with.
    case "SCMP_CMP_MASKED_EQ": return equal(v, v2, pass, fail);
  }
}

function emitRules(a: Assembler, rules: { cond: Rule[]; uncond?: number }, bits: 32 | 64): void {
  for (const rule of rules.cond) {
    const next = a.label();
    rule.args.forEach((arg, i) => {
      const pass = a.label();
      emitArg(a, arg, bits, pass, next);
      a.place(pass);
      if (i === rule.args.length - 1) a.stmt(BPF.RET_K, rule.k);
    });
    a.place(next);
  }
  a.stmt(BPF.RET_K, rules.uncond!);
}

type Outcome = { k: number } | { rules: { cond: Rule[]; uncond?: number } };
interface Interval {
  start: number;
  out: Outcome;
}

/** Split the number line into intervals of one outcome; neighbours with the same return merge. */
function intervals(byNr: Map<number, { cond: Rule[]; uncond?: number }>, bias: number, defaultK: number, aboveK = defaultK): Interval[] {
  const out: Interval[] = [];
  const push = (start: number, o: Outcome) => {
    if (out.at(-1)?.start === start) out.pop(); // a syscall replaces the default gap before it
    const last = out.at(-1);
    if (last && "k" in last.out && "k" in o && last.out.k === o.k) return;
    out.push({ start, out: o });
  };
  push(0, { k: defaultK });
  const nrs = [...byNr.keys()].sort((x, y) => x - y);
  for (const [i, nr] of nrs.entries()) {
    const r = byNr.get(nr)!;
    push(nr + bias, r.cond.length ? { rules: r } : { k: r.uncond! });
    push(nr + bias + 1, { k: i === nrs.length - 1 ? aboveK : defaultK });
  }
  return out;
}

/** Binary search on the syscall number (in A) over the intervals; leaves return or test args. */
function emitTree(a: Assembler, ivs: Interval[], bits: 32 | 64): void {
  if (ivs.length === 1) {
    const o = ivs[0]!.out;
    if ("k" in o) a.stmt(BPF.RET_K, o.k);
    else emitRules(a, o.rules, bits);
    return;
  }
  const mid = ivs.length >> 1, left = a.label(), right = a.label();
  a.jmp(BPF.JGE_K, ivs[mid]!.start, right, left);
  a.place(left);
  emitTree(a, ivs.slice(0, mid), bits);
  a.place(right);
  emitTree(a, ivs.slice(mid), bits);
}

export function compileSeccomp(profile: SeccompProfile, opts: CompileOptions = {}): BpfInstruction[] {
  const warn = opts.warn ?? (() => {});
  const native = opts.arch ?? nativeArch();
  const archs = sections(native, profile.architectures ?? [], warn);
  const allTables = Object.values(SYSCALL_TABLES);
  for (const name of new Set((profile.syscalls ?? []).flatMap((r) => r.names)))
    if (!allTables.some((t) => name in t)) warn(`seccomp: unknown syscall "${name}" skipped`);

  const defaultK = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const a = new Assembler();
  const dflt = a.label(), badArch = a.label();
  const secLabels = new Map<Arch, Label>();

  a.stmt(BPF.LD_W_ABS, OFF_ARCH);
  const audited = archs.filter((x) => x !== "x32");
  audited.forEach((arch, i) => {
    const l = a.label(), next = i === audited.length - 1 ? badArch : a.label();
    secLabels.set(arch, l);
    a.jmp(BPF.JEQ_K, AUDIT_ARCH[arch as keyof typeof AUDIT_ARCH], l, next);
    if (next !== badArch) a.place(next);
  });

  for (const arch of audited) {
    a.place(secLabels.get(arch)!);
    a.stmt(BPF.LD_W_ABS, OFF_NR);
    if (arch === "x86_64") {
      // x32 shares AUDIT_ARCH_X86_64 and sets bit 30 of the number; -1 is a tracer's skip.
      const x32 = a.label(), native64 = a.label();
      a.jmp(BPF.JGE_K, X32_SYSCALL_BIT, x32, native64);
      a.place(x32);
      if (archs.includes("x32")) emitSection(a, "x32", profile, defaultK);
      else a.jmp(BPF.JEQ_K, 0xffffffff, dflt, badArch);
      a.place(native64);
    }
    emitSection(a, arch, profile, defaultK);
  }
  a.place(badArch);
  a.stmt(BPF.RET_K, SECCOMP_RET.KILL_PROCESS);
  a.place(dflt);
  a.stmt(BPF.RET_K, defaultK);

  const program = a.assemble();
  if (program.length > BPF_MAXINSNS)
    throw new Error(`seccomp: the profile compiles to ${program.length} BPF instructions, more than the kernel's ${BPF_MAXINSNS}`);
  return program;
}

/** One arch's dispatch; A holds the syscall number on entry. */
function emitSection(a: Assembler, arch: Arch, profile: SeccompProfile, defaultK: number): void {
  const bias = arch === "x32" ? X32_SYSCALL_BIT : 0;
  const byNr = rulesFor(profile, SYSCALL_TABLES[arch], defaultK);
  emitTree(a, intervals(byNr, bias, defaultK, enosysAbove(profile, defaultK)), arch === "i386" ? 32 : 64);
}

/**
 * Syscalls newer than every one the profile names return ENOSYS instead of the default
 * action (as runc): programs then fall back (glibc's clone3 -> clone) rather than fail on
 * an EPERM the profile's author never chose. Not when the default already allows.
 */
function enosysAbove(profile: SeccompProfile, defaultK: number): number {
  const allows = profile.defaultAction === "SCMP_ACT_ALLOW" || profile.defaultAction === "SCMP_ACT_LOG";
  return allows ? defaultK : (SECCOMP_RET.ERRNO | ENOSYS) >>> 0;
}
