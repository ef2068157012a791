// linux.seccomp applied by bunc to real containers (needs root): ERRNO, KILL, argument
// filters, podman's default profile through run and exec, `bunc spec --seccomp`. What the
// profile costs is a figure of the benchmark (scripts/bench.ts), not a test threshold.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRoot, PROJECT, Sandbox } from "../support/harness";
import { defaultSeccompProfile } from "../../src/linux/seccomp";

const sb = new Sandbox();
afterAll(() => {
  const left = sb.containers();
  sb.cleanup();
  expect(left).toEqual([]);
});

const mkdirEperm = () => JSON.parse(readFileSync(join(PROJECT, "fixtures/seccomp/mkdir-eperm.json"), "utf8"));
const tmpfs = (c: any) => c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });

/** An allow list without chdir, ERRNO(ENXIO) for the rest (runc's seccomp bats test: defaultErrnoRet). */
function allowListWithoutChdir() {
  const names = ["read", "write", "writev", "exit", "exit_group", "execve", "execveat", "brk", "mmap", "munmap", "mprotect",
    "arch_prctl", "set_tid_address", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl", "fstat", "newfstatat", "close",
    "getpid", "getuid", "geteuid", "getgid", "getegid", "prctl", "capget", "capset", "setresuid", "setresgid", "setgroups", "futex",
    "madvise", "open", "openat", "access", "faccessat", "faccessat2", "stat", "lstat", "uname", "prlimit64", "poll", "fcntl",
    "getppid", "umask", "readlink", "set_robust_list", "rseq", "sigaltstack", "getrandom", "statx"];
  return { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 6, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"], syscalls: [{ names, action: "SCMP_ACT_ALLOW" }] };
}

describe.skipIf(!isRoot)("seccomp in containers (root)", () => {
  // Issue 20.5: with no_new_privs the filter goes on last, right before execve (as runc), so
  // the working directory is entered before it; host setup used to decide that from a request
  // that did not yet hold process.noNewPrivileges, and loaded the filter first.
  for (const path of [{ name: "bunc's thread", env: {} }, { name: "the Bun init", env: { BUNC_HOST_SETUP: "0" } }])
    test(`with noNewPrivileges the cwd is entered before a profile that denies chdir (${path.name})`, async () => {
      const id = `nochdir-${path.env.BUNC_HOST_SETUP ?? 1}`;
      const b = await sb.bundle(id, ["/bin/echo", "hello"], (c) => {
        c.process.noNewPrivileges = true;
        c.process.cwd = "/etc";
        c.linux.seccomp = allowListWithoutChdir();
      });
      const r = sb.run(["run", "-b", b, id], { env: path.env });
      expect(r.stderr).toBe("");
      expect(r).toMatchObject({ code: 0, stdout: "hello\n" });
    });

  test("ERRNO(EPERM) for mkdir: mkdir fails with EPERM, everything else works", async () => {
    const script = "mkdir /tmp/d; echo mkdir=$?; echo hi > /tmp/f && cat /tmp/f && rm /tmp/f && echo rest=ok; grep -E '^Seccomp:' /proc/self/status";
    const b = await sb.bundle("eperm", ["sh", "-c", script], (c) => { tmpfs(c); c.linux.seccomp = mkdirEperm(); });
    const r = sb.run(["run", "-b", b, "eperm"]);
    expect(r.stderr).toContain("mkdir: can't create directory '/tmp/d': Operation not permitted");
    expect(r).toMatchObject({ code: 0, stdout: "mkdir=1\nhi\nrest=ok\nSeccomp:\t2\n" });
    // Control: the same container without the profile can mkdir.
    const free = await sb.bundle("eperm-free", ["sh", "-c", "mkdir /tmp/d; echo mkdir=$?"], tmpfs);
    expect(sb.run(["run", "-b", free, "eperm-free"])).toMatchObject({ code: 0, stdout: "mkdir=0\n" });
  });

  test("SCMP_ACT_KILL kills the process: exit 128+SIGSYS", async () => {
    const profile = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL" }] };
    const b = await sb.bundle("kill", ["mkdir", "/tmp/d"], (c) => { tmpfs(c); c.linux.seccomp = profile; });
    expect(sb.run(["run", "-b", b, "kill"]).code).toBe(128 + 31);
    const p = await sb.bundle("killp", ["sh", "-c", "echo before; mkdir /tmp/d; echo after"], (c) => {
      tmpfs(c);
      c.linux.seccomp = { ...profile, syscalls: [{ ...profile.syscalls[0], action: "SCMP_ACT_KILL_PROCESS" }] };
    });
    // The shell survives its child's death and reports it as 128+31.
    const r = sb.run(["run", "-b", p, "killp"]);
    expect(r.stdout).toBe("before\nafter\n");
    expect(r.code).toBe(0);
    const direct = await sb.bundle("killd", ["sh", "-c", "exec mkdir /tmp/d"], (c) => {
      tmpfs(c);
      c.linux.seccomp = { ...profile, syscalls: [{ ...profile.syscalls[0], action: "SCMP_ACT_KILL_PROCESS" }] };
    });
    expect(sb.run(["run", "-b", direct, "killd"]).code).toBe(159);
  });

  test("argument filters match exactly: personality(PER_LINUX32) denied, personality(PER_LINUX) allowed", async () => {
    const profile = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] }],
    };
    const b = await sb.bundle("pers", ["sh", "-c", "linux32 true; echo l32=$?; linux64 true; echo l64=$?; linux64 uname -m"], (c) => (c.linux.seccomp = profile));
    const r = sb.run(["run", "-b", b, "pers"]);
    expect(r.stdout).toBe("l32=1\nl64=0\nx86_64\n");
    expect(r.stderr).toContain("Permission denied"); // EACCES, the errnoRet asked for
    // A masked-equal rule: any value with bit 0x8 set is denied, 0x0 passes.
    const masked = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 0, value: 8, valueTwo: 8, op: "SCMP_CMP_MASKED_EQ" }] }] };
    const m = await sb.bundle("persm", ["sh", "-c", "linux32 true; echo l32=$?; linux64 true; echo l64=$?"], (c) => (c.linux.seccomp = masked));
    expect(sb.run(["run", "-b", m, "persm"]).stdout).toBe("l32=1\nl64=0\n");
    // Control: without the filter both work.
    const free = await sb.bundle("persf", ["sh", "-c", "linux32 true; echo l32=$?"]);
    expect(sb.run(["run", "-b", free, "persf"]).stdout).toBe("l32=0\n");
  }, 30_000);

  test("podman's default profile loads; the container and an exec'd process run normally under it", async () => {
    const script = "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; echo x > /tmp/f; cat /tmp/f; ls / >/dev/null && echo ls=ok; mkdir /tmp/d && echo mkdir=ok; " +
      // Denied by the profile (no CAP_SYS_ADMIN rules kept): unshare and mount.
      "unshare -m true 2>/dev/null; echo unshare=$?";
    const b = await sb.bundle("podman", ["sh", "-c", script], (c) => { tmpfs(c); c.linux.seccomp = defaultSeccompProfile({ capabilities: c.process.capabilities.bounding }); });
    const r = sb.run(["run", "-b", b, "podman"]);
    expect(r).toMatchObject({ code: 0, stdout: "NoNewPrivs:\t1\nSeccomp:\t2\nx\nls=ok\nmkdir=ok\nunshare=1\n" });
    // Names of other architectures in podman's list are skipped with a warning, nothing else.
    for (const line of r.stderr.trim().split("\n").filter(Boolean)) expect(line).toMatch(/^bunc: warn: seccomp: unknown syscall "\w+" skipped$/);

    const d = await sb.bundle("podman-exec", ["sleep", "30"], (c) => { tmpfs(c); c.linux.seccomp = defaultSeccompProfile({ capabilities: c.process.capabilities.bounding }); });
    sb.ok(["run", "-d", "-b", d, "podman-exec"]);
    try {
      const out = sb.ok(["exec", "podman-exec", "sh", "-c", "grep -E '^Seccomp:' /proc/self/status; echo hi > /tmp/e && cat /tmp/e; unshare -m true 2>/dev/null; echo unshare=$?"]);
      expect(out).toBe("Seccomp:\t2\nhi\nunshare=1\n");
    } finally {
      sb.ok(["delete", "-f", "podman-exec"]);
    }
  }, 30_000);

  test("exec gets the container's filter too", async () => {
    const b = await sb.bundle("exec-eperm", ["sleep", "30"], (c) => { tmpfs(c); c.linux.seccomp = mkdirEperm(); });
    sb.ok(["run", "-d", "-b", b, "exec-eperm"]);
    try {
      const r = sb.run(["exec", "exec-eperm", "sh", "-c", "mkdir /tmp/x; echo mkdir=$?; touch /tmp/y && echo touch=ok"]);
      expect(r.stdout).toBe("mkdir=1\ntouch=ok\n");
      expect(r.stderr).toContain("Operation not permitted");
    } finally {
      sb.ok(["delete", "-f", "exec-eperm"]);
    }
  });

  test("exec installs the filter compiled at create (seccomp.bpf beside state.json, as crun), and compiles the profile only without one", async () => {
    // The profile allows everything; the saved filter is swapped for mkdir-eperm's: what an
    // exec'd process gets shows which of the two it was given.
    const id = "exec-saved";
    const b = await sb.bundle(id, ["sleep", "30"], (c) => { tmpfs(c); c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["swapon"], action: "SCMP_ACT_ERRNO" }] }; });
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const saved = join(sb.root, id, "seccomp.bpf");
      expect(existsSync(saved)).toBe(true);
      const mkdirTry = "mkdir /tmp/$$; echo mkdir=$?";
      expect(sb.run(["exec", id, "sh", "-c", mkdirTry]).stdout).toBe("mkdir=0\n");
      const { compileSeccomp, encodeProgram } = await import("../../src/linux/seccomp");
      writeFileSync(saved, encodeProgram(compileSeccomp(mkdirEperm())));
      expect(sb.run(["exec", id, "sh", "-c", mkdirTry]).stdout).toBe("mkdir=1\n");
      // The Bun init (a build without the native one) installs the same saved filter.
      expect(sb.run(["exec", id, "sh", "-c", mkdirTry], { env: { BUNC_NATIVE_INIT: "0" } }).stdout).toBe("mkdir=1\n");
      // A container made by a bunc that saved none (or a file that is not a program): compiled from the profile.
      writeFileSync(saved, "not a program");
      expect(sb.run(["exec", id, "sh", "-c", mkdirTry]).stdout).toBe("mkdir=0\n");
      rmSync(saved);
      expect(sb.run(["exec", id, "sh", "-c", mkdirTry]).stdout).toBe("mkdir=0\n");
    } finally {
      sb.ok(["delete", "-f", id]);
    }
    expect(existsSync(join(sb.root, id))).toBe(false);
  });

  test("bunc spec --seccomp writes podman's profile; plain spec has none", () => {
    const a = join(sb.dir, "spec-plain"), s = join(sb.dir, "spec-seccomp");
    require("node:fs").mkdirSync(a);
    require("node:fs").mkdirSync(s);
    sb.ok(["spec", "-b", a]);
    sb.ok(["spec", "-b", s, "--seccomp"]);
    const plain = JSON.parse(readFileSync(join(a, "config.json"), "utf8"));
    const withProfile = JSON.parse(readFileSync(join(s, "config.json"), "utf8"));
    expect(plain.linux.seccomp).toBeUndefined();
    expect(withProfile.linux.seccomp).toEqual(defaultSeccompProfile({ capabilities: withProfile.process.capabilities.bounding }));
    expect(withProfile.linux.seccomp.defaultAction).toBe("SCMP_ACT_ERRNO");
    const { seccomp, ...rest } = withProfile.linux;
    expect({ ...withProfile, linux: rest }).toEqual(plain);
  });
});
