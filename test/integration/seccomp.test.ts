// seccomp filters loaded for real: each case runs in a child `bun` that compiles a profile,
// sets no_new_privs, installs the filter on its main thread and then tries syscalls.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

function child(profile: unknown, body: string, env: Record<string, string> = {}) {
  const script = `
    import * as fs from "node:fs";
    import * as v from "valibot";
    import { compileSeccomp, installSeccomp, profileFlags, SeccompSchema, sendSeccompListener } from "${ROOT}/src/linux/seccomp";
    import { libc } from "${ROOT}/src/sys/libc";
    const profile = v.parse(SeccompSchema, JSON.parse(process.env.PROFILE));
    const program = compileSeccomp(profile, { warn: () => {} });
    if (libc.prctl(38, 1n, 0n, 0n, 0n) !== 0) throw new Error("PR_SET_NO_NEW_PRIVS failed");
    const listener = installSeccomp(program, profileFlags(profile));
    const out = (s) => fs.writeSync(1, s + "\\n");
    const attempt = (f) => { try { const r = f(); return "ok" + (r === undefined ? "" : ":" + r); } catch (e) { return e.code ?? String(e); } };
    out("program " + program.length); // instructions; compile and load times are the benchmark's
    ${body}
  `;
  const r = Bun.spawnSync([process.execPath, "-e", script], {
    cwd: ROOT, env: { ...process.env, PROFILE: JSON.stringify(profile, (_, x) => (typeof x === "bigint" ? Number(x) : x)), ...env },
  });
  const stdout = r.stdout.toString();
  return { ...r, stdout, lines: stdout.trim().split("\n"), stderr: r.stderr.toString() };
}

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("seccomp filters in a child process", () => {
  test("ERRNO(EPERM) for mkdir/mkdirat; everything else works, also after execve", async () => {
    const profile = await Bun.file(join(ROOT, "fixtures/seccomp/mkdir-eperm.json")).json();
    const dir = mkdtempSync("/tmp/bunc-seccomp-");
    try {
      const r = child(profile, `
        out("mkdir " + attempt(() => fs.mkdirSync(process.env.DIR + "/a")));
        out("write " + attempt(() => fs.writeFileSync(process.env.DIR + "/f", "hello")));
        out("read " + attempt(() => fs.readFileSync(process.env.DIR + "/f", "utf8")));
        out("unlink " + attempt(() => fs.unlinkSync(process.env.DIR + "/f")));
        const p = Bun.spawnSync(["/bin/mkdir", process.env.DIR + "/b"]);
        out("exec-mkdir " + p.exitCode + " " + p.stderr.toString().includes("Operation not permitted"));
        out("exec-true " + Bun.spawnSync(["/bin/true"]).exitCode);
      `, { DIR: dir });
      expect(r.stderr).toBe("");
      expect(r.lines.slice(1)).toEqual(["mkdir EPERM", "write ok", "read ok:hello", "unlink ok", "exec-mkdir 1 true", "exec-true 0"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("KILL_PROCESS kills the child with SIGSYS", () => {
    const r = child({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }] }, `
      libc.prctl(4, 0n, 0n, 0n, 0n); // PR_SET_DUMPABLE 0: no core file
      out("before");
      fs.mkdirSync("/tmp/bunc-seccomp-never");
      out("after");
    `);
    expect(r.signalCode).toBe("SIGSYS");
    expect(r.lines.slice(1)).toEqual(["before"]);
  });

  test("argument filters match exactly, 64-bit offsets included", () => {
    const r = child({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [
      { names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 13, args: [{ index: 1, value: 0, op: "SCMP_CMP_EQ" }] },
      { names: ["pread64", "preadv", "preadv2"], action: "SCMP_ACT_ERRNO", errnoRet: 22, args: [{ index: 3, value: 2 ** 32, op: "SCMP_CMP_GE" }] },
    ] }, `
      out("kill0 " + attempt(() => process.kill(process.pid, 0)));
      out("killCONT " + attempt(() => process.kill(process.pid, "SIGCONT")));
      const fd = fs.openSync("/etc/hostname", "r"), buf = Buffer.alloc(1);
      out("pread0 " + attempt(() => fs.readSync(fd, buf, 0, 1, 0)));
      out("preadFFFFFFFF " + attempt(() => fs.readSync(fd, buf, 0, 1, 0xffffffff)));
      out("pread2^32 " + attempt(() => fs.readSync(fd, buf, 0, 1, 2 ** 32)));
      out("pread2^33+1 " + attempt(() => fs.readSync(fd, buf, 0, 1, 2 ** 33 + 1)));
    `);
    expect(r.stderr).toBe("");
    expect(r.lines.slice(1)).toEqual(["kill0 EACCES", "killCONT ok:true", "pread0 ok:1", "preadFFFFFFFF ok:0", "pread2^32 EINVAL", "pread2^33+1 EINVAL"]);
  });

  test("podman's default profile compiles and loads; the child runs normally", async () => {
    const { defaultSeccompProfile } = await import("../../src/linux/seccomp");
    const r = child(defaultSeccompProfile(), `
      const dir = fs.mkdtempSync("/tmp/bunc-seccomp-");
      fs.mkdirSync(dir + "/x"); fs.writeFileSync(dir + "/x/f", "data"); fs.rmSync(dir, { recursive: true });
      out("sh " + Bun.spawnSync(["/bin/sh", "-c", "echo hi; ls / >/dev/null"]).stdout.toString().trim());
      out("chroot " + attempt(() => { const p = Bun.spawnSync(["/usr/sbin/chroot", "/", "/bin/true"]); return p.exitCode; }));
      out("async-read " + (await Bun.file("/etc/hostname").text()).length);
      out("done");
    `);
    expect(r.stderr).toBe("");
    expect(Number(r.lines[0]!.split(" ")[1])).toBeGreaterThan(0);
    expect(r.exitCode).toBe(0);
    expect(r.lines).toContain("sh hi");
    expect(r.lines).toContain("chroot ok:125"); // chroot(2) gets EPERM without CAP_SYS_CHROOT in the profile
    expect(r.lines.some((l) => /^async-read [1-9]/.test(l))).toBe(true);
    expect(r.lines.at(-1)).toBe("done");
  });

  test("NOTIFY returns a listener fd that is sent with the state JSON over a unix socket", () => {
    const dir = mkdtempSync("/tmp/bunc-seccomp-");
    try {
      const r = child({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: join(dir, "agent.sock"), syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_NOTIFY" }] }, `
        out("listener " + fs.readlinkSync("/proc/self/fd/" + listener));
        const state = JSON.stringify({ ociVersion: "1.2.0", fds: ["seccompFd"], pid: process.pid, metadata: "", state: { id: "c1", status: "creating" } });
        let got = "", arrived;
        const whole = new Promise((r) => (arrived = r));
        // Done when the whole state JSON is in, however long the agent takes to get it.
        const server = Bun.listen({ unix: profile.listenerPath, socket: { data(s, d) { got += d.toString(); try { JSON.parse(got); arrived(); } catch {} } } });
        sendSeccompListener(profile.listenerPath, listener, state);
        await whole;
        out("agent " + JSON.parse(got).state.id);
        server.stop(true);
      `);
      expect(r.stderr).toBe("");
      expect(r.lines.slice(1)).toEqual(["listener anon_inode:seccomp notify", "agent c1"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
