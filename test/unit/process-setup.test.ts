// process.* applied through RecordingSyscalls: rlimits, the user switch, capabilities,
// no_new_privs, umask and cwd in runc's order, and the exec with its fd hygiene.
import { describe, expect, test } from "bun:test";
import type { Process } from "../../src/spec/schema";
import { applyProcess, execProcess, giveStdio, keepPreservedFds, setRlimits, switchUser } from "../../src/linux/process";
import { PR, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE } from "../../src/sys/syscalls";
import { SyscallError } from "../../src/sys/libc";
import { RecordingSyscalls } from "../support/recording-syscalls";

const U64_MAX = (1n << 64n) - 1n;
const RLIMIT_CORE = 4, RLIMIT_NOFILE = 7;
const CAP_CHOWN = 0, CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10;
const bit = (c: number) => 1n << BigInt(c);
const ops = (sys: RecordingSyscalls) => sys.calls.map((c) => [c.op, ...c.args]);

function proc(p: Partial<Process>): Process {
  return { args: ["/bin/sh"], cwd: "/", env: [], ...p } as Process;
}

describe("setRlimits", () => {
  test("each rlimit by its kernel number; huge values are RLIM_INFINITY", () => {
    const sys = new RecordingSyscalls();
    setRlimits([{ type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 }, { type: "RLIMIT_CORE", soft: 2 ** 64, hard: 2 ** 64 }], 42, sys);
    expect(ops(sys)).toEqual([
      ["prlimit", 42, RLIMIT_NOFILE, 1024n, 4096n],
      ["prlimit", 42, RLIMIT_CORE, U64_MAX, U64_MAX],
    ]);
  });
  test("a refused limit names itself", () => {
    const sys = new RecordingSyscalls({ fail: (c) => (c.op === "prlimit" ? 1 : undefined) });
    expect(() => setRlimits([{ type: "RLIMIT_NOFILE", soft: 1, hard: 2 }], 0, sys)).toThrow("prlimit RLIMIT_NOFILE soft=1 hard=2: EPERM");
  });
});

describe("switchUser", () => {
  test("groups, gid, then uid, with capabilities kept across the uid change", () => {
    const sys = new RecordingSyscalls();
    switchUser({ uid: 1000, gid: 100, additionalGids: [10, 20] }, sys);
    expect(ops(sys).filter(([op]) => op !== "fstat" && op !== "fchown")).toEqual([
      ["prctl", PR.SET_KEEPCAPS, [1]],
      ["setgroups", [10, 20]],
      ["setresgid", 100],
      ["setresuid", 1000],
      ["prctl", PR.SET_KEEPCAPS, [0]],
    ]);
  });
  test("setgroups denied (rootless user namespace): fine without groups, an error with them", () => {
    const denied = () => new RecordingSyscalls({ fail: (c) => (c.op === "setgroups" ? 1 : undefined) });
    const ok = denied();
    switchUser({ uid: 0, gid: 0 }, ok, () => true);
    expect(ok.of("setresuid")).toHaveLength(1);
    expect(() => switchUser({ uid: 0, gid: 0, additionalGids: [5] }, denied(), () => true)).toThrow(/setgroups additionalGids 5: EPERM/);
    // Not denied by the namespace: a real failure.
    expect(() => switchUser({ uid: 0, gid: 0 }, denied(), () => false)).toThrow(SyscallError);
  });
});

describe("giveStdio (runc's fixStdioPermissions)", () => {
  const FIFO = 0o010600, CHR = 0o020666;
  test("stdio the user does not own becomes its, before the switch; /dev/null and what is the user's already are left", () => {
    const st: Record<number, { uid: number; mode: number; rdev: bigint }> = {
      0: { uid: 0, mode: CHR, rdev: (1n << 8n) | 3n }, // the host's /dev/null
      1: { uid: 0, mode: FIFO, rdev: 0n }, // bunc's pipe
      2: { uid: 1000, mode: FIFO, rdev: 0n }, // the user's already
    };
    const sys = new RecordingSyscalls({ fstat: (fd) => st[fd]! });
    switchUser({ uid: 1000, gid: 100 }, sys);
    expect(sys.of("fchown").map((c) => c.args)).toEqual([[1, 1000, -1]]);
    expect(sys.calls.findIndex((c) => c.op === "fchown")).toBeLessThan(sys.calls.findIndex((c) => c.op === "setresuid"));
    // Another character device (a terminal, /dev/zero) is given like a pipe.
    const tty = new RecordingSyscalls({ fstat: () => ({ uid: 0, mode: CHR, rdev: (136n << 8n) | 0n }) });
    giveStdio(5, tty);
    expect(tty.of("fchown").map((c) => c.args)).toEqual([[0, 5, -1], [1, 5, -1], [2, 5, -1]]);
  });
  test("an fd that is not open or cannot change is left as it is", () => {
    const sys = new RecordingSyscalls({ fail: (c) => (c.op === "fchown" ? 1 : c.op === "fstat" && c.args[0] === 0 ? 9 : undefined) });
    expect(() => giveStdio(1000, sys)).not.toThrow();
    expect(sys.of("fchown").map((c) => c.args[0])).toEqual([1, 2]);
  });
});

describe("applyProcess", () => {
  test("runc's order: rlimits, bounding set, user, capabilities, no_new_privs, umask, cwd", () => {
    const sys = new RecordingSyscalls();
    const caps = ["CAP_CHOWN", "CAP_KILL"];
    applyProcess(proc({
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 10, hard: 20 }],
      user: { uid: 5, gid: 6, umask: 0o027 },
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: ["CAP_KILL"], ambient: ["CAP_KILL", "CAP_CHOWN"] },
      noNewPrivileges: true,
      cwd: "/work",
    }), () => {}, sys);
    const kinds = sys.calls.map((c) => (c.op === "prctl" ? `prctl ${c.args[0]}` : c.op));
    const firstDrop = kinds.indexOf(`prctl ${PR.CAPBSET_DROP}`);
    expect(kinds[0]).toBe("prlimit");
    expect(firstDrop).toBe(1);
    // Every capability but the bounding ones is dropped, before the user switch.
    const dropped = sys.of("prctl").filter((c) => c.args[0] === PR.CAPBSET_DROP).map((c) => (c.args[1] as number[])[0]);
    expect(dropped).not.toContain(CAP_CHOWN);
    expect(dropped).not.toContain(CAP_KILL);
    expect(dropped).toContain(CAP_NET_BIND_SERVICE);
    expect(kinds.slice(1 + dropped.length)).toEqual([
      "fstat", "fchown", "fstat", "fchown", "fstat", "fchown", // stdio given to uid 5 (giveStdio)
      `prctl ${PR.SET_KEEPCAPS}`, "setgroups", "setresgid", "setresuid", `prctl ${PR.SET_KEEPCAPS}`,
      "capset", `prctl ${PR.CAP_AMBIENT}`, `prctl ${PR.CAP_AMBIENT}`, `prctl ${PR.SET_NO_NEW_PRIVS}`, "umask", "chdir",
    ]);
    expect(sys.of("capset")[0]!.args).toEqual([{ effective: bit(CAP_CHOWN) | bit(CAP_KILL), permitted: bit(CAP_CHOWN) | bit(CAP_KILL), inheritable: bit(CAP_KILL) }]);
    // Ambient: only what is also inheritable (CAP_CHOWN is not).
    expect(sys.of("prctl").filter((c) => c.args[0] === PR.CAP_AMBIENT).map((c) => c.args[1])).toEqual([[PR_CAP_AMBIENT_CLEAR_ALL], [PR_CAP_AMBIENT_RAISE, CAP_KILL]]);
    expect(sys.of("umask")[0]!.args).toEqual([0o027]);
    expect(sys.of("chdir")[0]!.args).toEqual(["/work"]);
  });
  test("without capabilities, user or no_new_privs: root, and the capability sets untouched", () => {
    const sys = new RecordingSyscalls();
    applyProcess(proc({}), () => {}, sys);
    expect(ops(sys)).toEqual([
      ["prctl", PR.SET_KEEPCAPS, [1]], ["setgroups", []], ["setresgid", 0], ["setresuid", 0], ["prctl", PR.SET_KEEPCAPS, [0]], ["chdir", "/"],
    ]);
  });
  test("a cwd that cannot be entered is an error naming process.cwd", () => {
    const sys = new RecordingSyscalls({ fail: (c) => (c.op === "chdir" ? 2 : undefined) });
    expect(() => applyProcess(proc({ cwd: "/missing" }), () => {}, sys)).toThrow("process.cwd: cannot change to /missing: ENOENT");
  });
});

describe("exec", () => {
  test("the caller's preserved fds lose close-on-exec; the other slots and every fd above get it; then execve", () => {
    const sys = new RecordingSyscalls();
    let err: any;
    try {
      execProcess("/bin/true", ["true"], ["A=1"], { preserveFds: 3, keepFds: [3, 5] }, sys);
    } catch (e) {
      err = e;
    }
    expect(ops(sys)).toEqual([
      ["fcntl", 3, 2 /* F_SETFD */, 0], ["fcntl", 4, 2, 1 /* FD_CLOEXEC: not the caller's */], ["fcntl", 5, 2, 0],
      ["closeRange", 6, 0xffffffff, 4 /* CLOSE_RANGE_CLOEXEC */],
      ["execve", "/bin/true", ["true"], ["A=1"]],
    ]);
    // The double's execve fails with ENOENT: the shell's 127.
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.processExitCode).toBe(127);
  });
  test("a program that cannot run is 126", () => {
    const sys = new RecordingSyscalls({ fail: (c) => (c.op === "execve" ? 13 /* EACCES */ : undefined) });
    expect(() => execProcess("/x", ["x"], [], { preserveFds: 0, keepFds: [] }, sys)).toThrow(expect.objectContaining({ processExitCode: 126 }));
  });
  test("keepPreservedFds: nothing to do without --preserve-fds", () => {
    const sys = new RecordingSyscalls();
    keepPreservedFds({ preserveFds: 0, keepFds: [] }, sys);
    expect(sys.calls).toEqual([]);
  });
});
