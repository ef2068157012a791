// The seccomp compiler, checked by running its BPF through a small interpreter and comparing
// with a direct evaluation of the profile (an oracle written from the rule semantics).
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import {
  AUDIT_ARCH, compileSeccomp, defaultSeccompProfile, SECCOMP_OPERATORS, SECCOMP_RET, SeccompSchema,
  type BpfInstruction, type SeccompProfile,
} from "../../src/linux/seccomp";
import { SYSCALL_TABLES, X32_SYSCALL_BIT, actionValue } from "../../src/linux/seccomp/compile";
import { encodeProgram } from "../../src/linux/seccomp/install";

interface Data { arch: number; nr: number; args: bigint[] }

/** Classic BPF as the kernel runs a seccomp filter (only the opcodes a filter needs). */
function run(prog: BpfInstruction[], d: Data): number {
  const word = (off: number) => {
    if (off === 0) return d.nr >>> 0;
    if (off === 4) return d.arch >>> 0;
    const i = (off - 16) >> 3;
    if (off < 16 || i > 5 || off % 4) throw new Error(`bad load offset ${off}`);
    const x = d.args[i] ?? 0n;
    return Number(off % 8 === 0 ? x & 0xffffffffn : (x >> 32n) & 0xffffffffn);
  };
  let A = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc]!;
    expect(jt).toBeLessThanOrEqual(255);
    expect(jf).toBeLessThanOrEqual(255);
    switch (code) {
      case 0x20: A = word(k); break;
      case 0x54: A = (A & k) >>> 0; break;
      case 0x06: return k >>> 0;
      case 0x05: pc += k; break;
      case 0x15: pc += A === k >>> 0 ? jt : jf; break;
      case 0x25: pc += A > k >>> 0 ? jt : jf; break;
      case 0x35: pc += A >= k >>> 0 ? jt : jf; break;
      default: throw new Error(`unknown opcode ${code}`);
    }
  }
  throw new Error("fell off the end of the program");
}

const U64 = (1n << 64n) - 1n;
function holds(op: string, arg: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case "SCMP_CMP_EQ": return arg === value;
    case "SCMP_CMP_NE": return arg !== value;
    case "SCMP_CMP_LT": return arg < value;
    case "SCMP_CMP_LE": return arg <= value;
    case "SCMP_CMP_GE": return arg >= value;
    case "SCMP_CMP_GT": return arg > value;
    case "SCMP_CMP_MASKED_EQ": return (arg & value) === valueTwo;
  }
  throw new Error(op);
}

/** What the filter should return, from the profile alone. */
function oracle(p: SeccompProfile, d: Data): number {
  const dflt = actionValue(p.defaultAction, p.defaultErrnoRet);
  const archs = new Set(p.architectures ?? []);
  let table: Record<string, number>, nr = d.nr >>> 0, bits = 64;
  if (d.arch === AUDIT_ARCH.x86_64) {
    if (nr >= X32_SYSCALL_BIT) {
      if (!archs.has("SCMP_ARCH_X32")) return nr === 0xffffffff ? dflt : SECCOMP_RET.KILL_PROCESS;
      table = SYSCALL_TABLES.x32;
      nr -= X32_SYSCALL_BIT;
    } else table = SYSCALL_TABLES.x86_64;
  } else if (d.arch === AUDIT_ARCH.i386 && archs.has("SCMP_ARCH_X86")) (table = SYSCALL_TABLES.i386), (bits = 32);
  else return SECCOMP_RET.KILL_PROCESS;
  const trunc = (x: bigint) => (bits === 32 ? x & 0xffffffffn : x & U64);
  // Newer than every syscall the profile names: ENOSYS, unless the default allows anyway.
  const named = (p.syscalls ?? []).flatMap((r) => r.names.map((n) => table[n])).filter((x): x is number => x !== undefined);
  if (named.length && nr > Math.max(...named) && p.defaultAction !== "SCMP_ACT_ALLOW" && p.defaultAction !== "SCMP_ACT_LOG")
    return (SECCOMP_RET.ERRNO | 38) >>> 0;
  let uncond: number | undefined;
  for (const r of p.syscalls ?? []) {
    if (!r.names.some((n) => table[n] === nr)) continue;
    const args = r.args ?? [];
    const k = actionValue(r.action, r.errnoRet);
    if (args.length === 0) { uncond ??= k; continue; }
    const test = (a: (typeof args)[number]) =>
      holds(a.op, trunc(d.args[a.index] ?? 0n), trunc(BigInt(a.value)), trunc(BigInt(a.valueTwo ?? 0)));
    const sameIndex = new Set(args.map((a) => a.index)).size !== args.length;
    if (sameIndex ? args.some(test) : args.every(test)) return k;
  }
  return uncond ?? dflt;
}

const X86 = AUDIT_ARCH.x86_64;
const nrOf = (name: string) => SYSCALL_TABLES.x86_64[name]!;
const profile = (x: unknown) => v.parse(SeccompSchema, x);
const data = (nr: number, args: (number | bigint)[] = [], arch: number = X86): Data =>
  ({ arch, nr, args: [0, 1, 2, 3, 4, 5].map((i) => BigInt(args[i] ?? 0)) });

const EDGES = [0n, 1n, 2n, 0x7fffffffn, 0xfffffffen, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1fffffffen,
  0x1ffffffffn, 0xffffffff00000000n, 0xfffffffffffffffen, U64, 0x123456789abcdefn];

describe("seccomp compiler", () => {
  test("syscalls newer than the profile's newest get ENOSYS, older unnamed ones the default", () => {
    const p = profile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "write", "getpid"], action: "SCMP_ACT_ALLOW" }] });
    const prog = compileSeccomp(p, { arch: "x86_64" });
    expect(run(prog, data(nrOf("getpid")))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(nrOf("dup")))).toBe(SECCOMP_RET.ERRNO | 1); // 32: older than getpid (39)
    expect(run(prog, data(nrOf("mkdir")))).toBe(SECCOMP_RET.ERRNO | 38); // 83: newer
    expect(run(prog, data(nrOf("clone3")))).toBe(SECCOMP_RET.ERRNO | 38);
    const allow = compileSeccomp(profile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO" }] }), { arch: "x86_64" });
    expect(run(allow, data(nrOf("clone3")))).toBe(SECCOMP_RET.ALLOW);
  });

  test("EPERM for mkdir, default allow, unknown names warn", () => {
    const warnings: string[] = [];
    const p = profile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat", "no_such_call"], action: "SCMP_ACT_ERRNO" }] });
    const prog = compileSeccomp(p, { arch: "x86_64", warn: (m) => warnings.push(m) });
    expect(warnings).toEqual(['seccomp: unknown syscall "no_such_call" skipped']);
    expect(run(prog, data(nrOf("mkdir")))).toBe(SECCOMP_RET.ERRNO | 1);
    expect(run(prog, data(nrOf("mkdirat")))).toBe(SECCOMP_RET.ERRNO | 1);
    expect(run(prog, data(nrOf("read")))).toBe(SECCOMP_RET.ALLOW);
    // i386 was not listed: its syscalls hit the bad-arch action, as do x32 ones; -1 is the default.
    expect(run(prog, data(39, [], AUDIT_ARCH.i386))).toBe(SECCOMP_RET.KILL_PROCESS);
    expect(run(prog, data(X32_SYSCALL_BIT + 83))).toBe(SECCOMP_RET.KILL_PROCESS);
    expect(run(prog, data(0xffffffff))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(1, [], AUDIT_ARCH.aarch64))).toBe(SECCOMP_RET.KILL_PROCESS);
  });

  test("every action, defaultErrnoRet and errnoRet", () => {
    const actions = ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
      "SCMP_ACT_TRACE", "SCMP_ACT_LOG", "SCMP_ACT_ALLOW", "SCMP_ACT_NOTIFY"] as const;
    const names = ["read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek"];
    const p = profile({
      defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38, listenerPath: "/x",
      syscalls: [...actions.map((action, i) => ({ names: [names[i]], action })), { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 17 }],
    });
    const prog = compileSeccomp(p, { arch: "x86_64" });
    const want = [0, 0x80000000, 0, 0x30000, 0x50001, 0x7ff00001, 0x7ffc0000, 0x7fff0000, 0x7fc00000];
    names.forEach((n, i) => expect(run(prog, data(nrOf(n)))).toBe(want[i]!));
    expect(run(prog, data(nrOf("mkdir")))).toBe(0x50000 | 17);
    expect(run(prog, data(nrOf("getpid")))).toBe(0x50000 | 38);
  });

  test("64-bit argument comparisons match the oracle for every operator and edge value", () => {
    for (const op of SECCOMP_OPERATORS) {
      for (const value of EDGES) {
        const valueTwo = op === "SCMP_CMP_MASKED_EQ" ? value & 0xf0000000fn : 0n;
        const p = profile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86"],
          syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value, valueTwo, op }] }] });
        const prog = compileSeccomp(p, { arch: "x86_64" });
        for (const arg of EDGES) {
          for (const [arch, nr] of [[X86, nrOf("ioctl")], [AUDIT_ARCH.i386, SYSCALL_TABLES.i386.ioctl!]] as const) {
            const d = data(nr, [0, arg], arch);
            const got = run(prog, d);
            if (got !== oracle(p, d)) throw new Error(`${op} value=${value} arg=${arg} arch=${arch}: ${got}`);
          }
        }
      }
    }
  });

  test("args AND, a repeated index ORs, conditional rules before the unconditional one", () => {
    const p = profile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [
      { names: ["socket"], action: "SCMP_ACT_ALLOW" },
      { names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 0, value: 16, op: "SCMP_CMP_EQ" }, { index: 2, value: 9, op: "SCMP_CMP_EQ" }] },
      { names: ["kill"], action: "SCMP_ACT_ALLOW", args: [{ index: 1, value: 9, op: "SCMP_CMP_EQ" }, { index: 1, value: 15, op: "SCMP_CMP_EQ" }] },
    ] });
    const prog = compileSeccomp(p, { arch: "x86_64" });
    expect(run(prog, data(nrOf("socket"), [16, 3, 9]))).toBe(0x50000 | 22);
    expect(run(prog, data(nrOf("socket"), [16, 3, 0]))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(nrOf("socket"), [0x100000010n, 3, 9]))).toBe(SECCOMP_RET.ALLOW); // hi word differs
    expect(run(prog, data(nrOf("kill"), [1, 9]))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(nrOf("kill"), [1, 15]))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(nrOf("kill"), [1, 2]))).toBe(0x50001);
  });

  test("several hundred syscalls with distinct actions and arg rules need long jumps and stay exact", () => {
    const names = Object.keys(SYSCALL_TABLES.x86_64).slice(0, 300);
    const syscalls = names.flatMap((name, i) => [
      { names: [name], action: "SCMP_ACT_ERRNO", errnoRet: (i % 4000) + 1, args: [{ index: i % 6, value: BigInt(i) << 31n, op: SECCOMP_OPERATORS[i % 7] }] },
      { names: [name], action: i % 2 ? "SCMP_ACT_ALLOW" : "SCMP_ACT_LOG" },
    ]);
    const p = profile({ defaultAction: "SCMP_ACT_KILL_PROCESS", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls });
    const prog = compileSeccomp(p, { arch: "x86_64" });
    expect(prog.filter((i) => i.code === 0x05).length).toBeGreaterThan(10);
    expect(prog.length).toBeGreaterThan(2000);
    let checked = 0;
    for (const name of names) {
      const nr = SYSCALL_TABLES.x86_64[name]!;
      for (const arg of [0n, BigInt(nr) << 31n, (BigInt(nr) << 31n) + 1n, U64]) {
        for (const d of [data(nr, [arg, arg, arg, arg, arg, arg]), data(nr + X32_SYSCALL_BIT, [arg, arg, arg, arg, arg, arg]),
          data(SYSCALL_TABLES.i386[name] ?? 0, [arg, arg, arg, arg, arg, arg], AUDIT_ARCH.i386)]) {
          expect(run(prog, d)).toBe(oracle(p, d));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(3000);
  });

  test("containers-common default profile compiles small and behaves as podman's", () => {
    const warnings: string[] = [];
    const p = profile(defaultSeccompProfile({ arch: "x86_64" }));
    const prog = compileSeccomp(p, { arch: "x86_64", warn: (m) => warnings.push(m) });
    expect(prog.length).toBeLessThan(1500);
    expect(warnings.every((w) => w.includes("unknown syscall"))).toBe(true);
    expect(run(prog, data(nrOf("read")))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(nrOf("kexec_load")))).toBe(0x50001);
    expect(run(prog, data(nrOf("bpf")))).toBe(0x50001); // no CAP_SYS_ADMIN by default
    expect(run(prog, data(nrOf("personality"), [8]))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(nrOf("personality"), [7]))).toBe(0x50000 | 38);
    expect(run(prog, data(nrOf("socket"), [16, 3, 9]))).toBe(SECCOMP_RET.ALLOW); // CAP_AUDIT_WRITE given
    const noCaps = compileSeccomp(profile(defaultSeccompProfile({ arch: "x86_64", capabilities: [] })), { arch: "x86_64" });
    expect(run(noCaps, data(nrOf("socket"), [16, 3, 9]))).toBe(0x50000 | 22);
    expect(run(noCaps, data(nrOf("socket"), [2, 1, 0]))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(nrOf("arch_prctl")))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(SYSCALL_TABLES.i386.socketcall!, [], AUDIT_ARCH.i386))).toBe(SECCOMP_RET.ALLOW);
    for (let nr = 0; nr < 500; nr++) for (const d of [data(nr), data(nr, [], AUDIT_ARCH.i386), data(nr + X32_SYSCALL_BIT)])
      expect(run(prog, d)).toBe(oracle(p, d));
    const sysAdmin = compileSeccomp(v.parse(SeccompSchema, defaultSeccompProfile({ arch: "x86_64", capabilities: ["CAP_SYS_ADMIN"] })), { arch: "x86_64" });
    expect(run(sysAdmin, data(nrOf("bpf")))).toBe(SECCOMP_RET.ALLOW);
  });

  test("aarch64 profile and the sock_filter encoding", () => {
    const p = profile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
      syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }] });
    const warnings: string[] = [];
    const prog = compileSeccomp(p, { arch: "aarch64", warn: (m) => warnings.push(m) });
    expect(warnings[0]).toContain("SCMP_ARCH_ARM");
    expect(run(prog, data(34, [], AUDIT_ARCH.aarch64))).toBe(SECCOMP_RET.KILL_PROCESS);
    expect(run(prog, data(56, [], AUDIT_ARCH.aarch64))).toBe(SECCOMP_RET.ALLOW);
    expect(run(prog, data(56))).toBe(SECCOMP_RET.KILL_PROCESS);
    const bytes = encodeProgram([{ code: 0x15, jt: 1, jf: 2, k: 0xc000003e }]);
    expect([...bytes]).toEqual([0x15, 0, 1, 2, 0x3e, 0, 0, 0xc0]);
  });
});

describe("seccomp schema", () => {
  const issues = (x: unknown) => {
    const r = v.safeParse(SeccompSchema, x);
    return r.success ? [] : r.issues.map((i) => `${v.getDotPath(i)}: ${i.message}`);
  };
  test("unknown action, operator, arch and flag name their path", () => {
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_NOPE" }] }))
      .toEqual(['syscalls.0.action: unknown seccomp action "SCMP_ACT_NOPE"']);
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_X" }] }] }))
      .toEqual(['syscalls.0.args.0.op: unknown seccomp operator "SCMP_CMP_X"']);
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80"] })[0]).toStartWith("architectures.0:");
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NOPE"] })[0]).toStartWith("flags.0:");
    expect(issues({ defaultAction: "SCMP_ACT_BAD" })).toEqual(['defaultAction: unknown seccomp action "SCMP_ACT_BAD"']);
  });
  test("errnoRet needs an errno action; NOTIFY needs listenerPath", () => {
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }] }))
      .toEqual(["syscalls.0.errnoRet: SCMP_ACT_ALLOW does not take an errno"]);
    expect(issues({ defaultAction: "SCMP_ACT_LOG", defaultErrnoRet: 1 })).toEqual(["defaultErrnoRet: SCMP_ACT_LOG does not take an errno"]);
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_NOTIFY" }] }))
      .toEqual(["listenerPath: SCMP_ACT_NOTIFY needs listenerPath"]);
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2n ** 64n - 1n, op: "SCMP_CMP_EQ" }] }] })).toEqual([]);
    expect(issues({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }] })[0]).toStartWith("syscalls.0.args.0.index");
  });
});
