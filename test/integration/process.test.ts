// process.* of config.json checked from inside the container (needs root): args, env,
// cwd, user and groups, umask, rlimits, the five capability sets, no_new_privs,
// oom_score_adj, HOME, --preserve-fds and LISTEN_FDS, and no leaked fds.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, isRoot, mountsUnder, fileSandbox } from "../support/harness";
import { CAP_SYS_RESOURCE, hasCapability, skipping } from "../support/host";

const sb = fileSandbox();

/** Fields of /proc/self/status as printed by `cat /proc/self/status`. */
function status(text: string): Record<string, string> {
  return Object.fromEntries(text.split("\n").filter((l) => l.includes(":\t")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
}

function runOut(b: string, id: string, extra: string[] = []): string {
  const r = sb.run(["run", ...extra, "-b", b, id]);
  if (r.code !== 0) throw new Error(`bunc run ${id} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const CAP = { CHOWN: 0, KILL: 5, NET_BIND_SERVICE: 10, NET_RAW: 13, AUDIT_WRITE: 29 } as const;
const hex = (...bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, "0");

/** bunc with extra fds (3, 4, ...) inherited from this process. */
function runWithFds(args: string[], fds: (number | "ignore")[], env: Record<string, string> = {}) {
  const out = join(sb.dir, "fds.out"), err = join(sb.dir, "fds.err");
  const o = openSync(out, "w"), e = openSync(err, "w");
  try {
    const p = Bun.spawnSync({ cmd: [...BUNC, "--root", sb.root, ...args], stdio: ["ignore", o, e, ...fds], env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: p.exitCode, stdout: require("node:fs").readFileSync(out, "utf8") as string, stderr: require("node:fs").readFileSync(err, "utf8") as string };
  } finally {
    closeSync(o);
    closeSync(e);
  }
}

describe.skipIf(!isRoot)("process (root)", () => {
  test("args, env, cwd, user, additionalGids, umask", async () => {
    const script = 'printf "%s|" "$@"; echo; echo "FOO=$FOO"; pwd; id -u; id -g; id -G; umask; cat /proc/self/status';
    const b = await sb.bundle("proc", ["sh", "-c", script, "zero", "a b", "c"], (c) => {
      c.process.env.push("FOO=bar baz");
      c.process.cwd = "/tmp";
      c.process.user = { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o027 };
    });
    const [argv, foo, cwd, uid, gid, groups, umask, ...rest] = runOut(b, "proc").split("\n");
    expect(argv).toBe("a b|c|");
    expect(foo).toBe("FOO=bar baz");
    expect(cwd).toBe("/tmp");
    expect([uid, gid]).toEqual(["1000", "1001"]);
    expect(groups!.split(" ").sort()).toEqual(["10", "1001", "20"].sort());
    expect(umask).toBe("0027");
    const st = status(rest.join("\n"));
    expect(st.Uid).toBe("1000\t1000\t1000\t1000");
    expect(st.Gid).toBe("1001\t1001\t1001\t1001");
    expect(st.Groups).toBe("10 20");
  });

  test("env: HOME from the container's /etc/passwd unless set; PATH finds args[0]", async () => {
    const b = await sb.bundle("home", ["sh", "-c", "echo $HOME"]);
    expect(runOut(b, "home")).toBe("/root\n");
    const n = await sb.bundle("home2", ["sh", "-c", "echo $HOME"], (c) => (c.process.user = { uid: 4242, gid: 4242 }));
    expect(runOut(n, "home2")).toBe("/\n");
    const s = await sb.bundle("home3", ["sh", "-c", "echo $HOME"], (c) => c.process.env.push("HOME=/custom"));
    expect(runOut(s, "home3")).toBe("/custom\n");
  });

  test("a missing program or cwd is an error at create; nothing is left", async () => {
    const b = await sb.bundle("noprog", ["/no/such/program"]);
    const r = sb.run(["create", "-b", b, "noprog"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/no/such/program");
    expect(sb.containers()).toEqual([]);
  });

  test("rlimits in /proc/self/limits", async () => {
    const b = await sb.bundle("rlim", ["cat", "/proc/self/limits"], (c) => {
      c.process.rlimits = [
        { type: "RLIMIT_NOFILE", soft: 1234, hard: 5678 },
        { type: "RLIMIT_CORE", soft: 0, hard: 0 },
        { type: "RLIMIT_NPROC", soft: 300, hard: 400 },
        { type: "RLIMIT_STACK", soft: 4194304, hard: 18446744073709551615 },
      ];
    });
    const out = runOut(b, "rlim");
    expect(out).toMatch(/^Max open files\s+1234\s+5678\s+files/m);
    expect(out).toMatch(/^Max core file size\s+0\s+0\s+bytes/m);
    expect(out).toMatch(/^Max processes\s+300\s+400\s+processes/m);
    expect(out).toMatch(/^Max stack size\s+4194304\s+unlimited\s+bytes/m);
  });

  // runtime-tools process_rlimits: a 1 GiB RLIMIT_AS set on the init while it was still the Bun
  // init crashed it (Bun reserves more address space than that) about half the time.
  test("RLIMIT_AS of 1 GiB (runtime-tools process_rlimits) on both setup paths: applied, and the Bun init survives it", async () => {
    const b = await sb.bundle("rlimas", ["cat", "/proc/self/limits"], (c) => {
      const G = 1073741824; // the suite's values
      c.process.rlimits = [
        { type: "RLIMIT_AS", soft: G, hard: 2 * G }, { type: "RLIMIT_DATA", soft: 5 * G, hard: 6 * G },
        { type: "RLIMIT_STACK", soft: 9 * G, hard: 10 * G }, { type: "RLIMIT_CPU", soft: 60, hard: 120 },
      ];
    });
    // A race: one run in ten or so crashed, so the Bun init path is tried often.
    for (const [env, runs] of [[{}, 2], [{ BUNC_HOST_SETUP: "0" }, 15]] as const)
      for (let i = 0; i < runs; i++) {
        const r = sb.run(["run", "-b", b, `rlimas${i}`], { env });
        expect(r.stderr).toBe("");
        expect(r.stdout).toMatch(/^Max address space\s+1073741824\s+2147483648\s+bytes/m);
      }
  });

  test("a hard RLIMIT_NOFILE the host cannot grant is an error, not a silent clamp", async () => {
    const b = await sb.bundle("rlimbig", ["true"], (c) => (c.process.rlimits = [{ type: "RLIMIT_NOFILE", soft: 1 << 22, hard: 1 << 22 }]));
    const r = sb.run(["run", "-b", b, "rlimbig"]);
    // Above fs.nr_open no one gets it; up to it, raising the hard limit takes CAP_SYS_RESOURCE.
    const hard = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? 0);
    const grantable = Number(readFileSync("/proc/sys/fs/nr_open", "utf8")) >= 1 << 22 && (hasCapability(CAP_SYS_RESOURCE) || hard >= 1 << 22);
    if (skipping(grantable, "a hard RLIMIT_NOFILE the host cannot grant", "this host grants 4194304: fs.nr_open allows it and bunc may raise its hard limit")) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return;
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("prlimit");
    expect(sb.containers()).toEqual([]);
  });

  test("capabilities as root: bounding, effective and permitted as configured, no inheritable or ambient", async () => {
    const b = await sb.bundle("caproot", ["cat", "/proc/self/status"]);
    const st = status(runOut(b, "caproot"));
    const want = hex(CAP.AUDIT_WRITE, CAP.KILL, CAP.NET_BIND_SERVICE);
    expect(st).toMatchObject({ CapBnd: want, CapPrm: want, CapEff: want, CapInh: hex(), CapAmb: hex(), NoNewPrivs: "1" });
  });

  test("capabilities of a non-root user: all five sets; unknown names are a warning", async () => {
    const b = await sb.bundle("capuser", ["cat", "/proc/self/status"], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      const both = ["CAP_KILL", "CAP_NET_BIND_SERVICE"];
      c.process.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_BOGUS"],
        effective: both, permitted: both, inheritable: both, ambient: both,
      };
      c.process.noNewPrivileges = false;
    });
    const r = sb.run(["run", "-b", b, "capuser"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('unknown capability "CAP_BOGUS"');
    const st = status(r.stdout);
    const amb = hex(CAP.KILL, CAP.NET_BIND_SERVICE);
    expect(st).toMatchObject({
      CapBnd: hex(CAP.CHOWN, CAP.KILL, CAP.NET_BIND_SERVICE, CAP.NET_RAW), CapInh: amb, CapPrm: amb, CapEff: amb, CapAmb: amb, NoNewPrivs: "0",
    });
  });

  test("oomScoreAdj and noNewPrivileges", async () => {
    const b = await sb.bundle("oom", ["sh", "-c", "cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status"], (c) => {
      c.process.oomScoreAdj = 500;
      c.process.noNewPrivileges = true;
    });
    expect(runOut(b, "oom")).toMatch(/^500\nNoNewPrivs:\s+1\n$/);
  });

  test("only stdio reaches the container", async () => {
    const b = await sb.bundle("fds", ["ls", "/proc/self/fd"]);
    const held = openSync("/etc/hostname", "r"); // an fd of the test process, inherited by bunc
    try {
      const r = runWithFds(["run", "-b", b, "fds"], [held, held]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split(/\s+/)).toEqual(["0", "1", "2", "3"]); // 3: ls's own directory fd
    } finally {
      closeSync(held);
    }
  });

  // Issue 20.1: fds 3..3+N-1 that the caller did not have open are bunc's own (its state
  // directory, memfds, Bun's eventpoll): none of them may reach the container (CVE-2024-21626).
  for (const path of [{ name: "bunc's thread", env: {} }, { name: "the Bun init", env: { BUNC_HOST_SETUP: "0" } }])
    test(`--preserve-fds larger than what is open passes exactly the caller's fds (${path.name})`, async () => {
      const secret = join(sb.dir, "secret12");
      writeFileSync(secret, "twelve\n");
      const fd = openSync(secret, "r");
      try {
        // The caller has fd 3 and fd 5 (a gap at 4); everything else up to 14 is not theirs.
        const b = await sb.bundle(`pfd12-${path.env.BUNC_HOST_SETUP ?? 1}`, ["sh", "-c", "cat <&5; cd /proc/$$/fd && for f in *; do echo $f $(readlink $f); done"]);
        const r = runWithFds(["run", "--preserve-fds", "12", "-b", b, `pfd12-${path.env.BUNC_HOST_SETUP ?? 1}`], [fd, "ignore", fd], path.env);
        expect(r.stderr).toBe("");
        const [content, ...fds] = r.stdout.trim().split("\n");
        expect(content).toBe("twelve");
        const held = Object.fromEntries(fds.map((l) => l.split(" ")));
        expect(held["3"]).toBe(secret);
        expect(held["5"]).toBe(secret);
        // The caller left 4 free: the shell's glob took it for its directory listing (read back
        // as the $(...) pipe then). Nothing of bunc's or Bun's (a state directory, an eventpoll).
        expect(Object.keys(held).filter((f) => !["0", "1", "2", "3", "4", "5"].includes(f))).toEqual([]);
        if (held["4"] !== undefined) expect(held["4"]).toMatch(/^pipe:/);
        expect(sb.containers()).toEqual([]);
      } finally {
        closeSync(fd);
        sb.run(["delete", "--force", `pfd12-${path.env.BUNC_HOST_SETUP ?? 1}`]);
      }
    });

  test("exec --preserve-fds larger than what is open passes exactly the caller's fds", async () => {
    const secret = join(sb.dir, "secret-exec");
    writeFileSync(secret, "exec-secret\n");
    const fd = openSync(secret, "r");
    const b = await sb.bundle("pfdx", ["sleep", "60"]);
    try {
      sb.ok(["run", "-d", "-b", b, "pfdx"]);
      const r = runWithFds(["exec", "--preserve-fds", "12", "pfdx", "sh", "-c", "cat <&3; ls /proc/self/fd | tr '\\n' ' '"], [fd]);
      expect(r.stderr).toBe("");
      const [content, fds] = r.stdout.split("\n");
      expect(content).toBe("exec-secret");
      expect(fds!.trim().split(" ")).toEqual(["0", "1", "2", "3", "4"]); // 4: ls's directory fd
    } finally {
      closeSync(fd);
      sb.run(["delete", "--force", "pfdx"]);
    }
  });

  test("--preserve-fds passes fds 3.. through; LISTEN_FDS too", async () => {
    const secret = join(sb.dir, "secret");
    writeFileSync(secret, "the-secret\n");
    const fd = openSync(secret, "r");
    try {
      const b = await sb.bundle("pfd", ["sh", "-c", "cat <&3; ls /proc/self/fd | tr '\\n' ' '; echo; echo $LISTEN_FDS $LISTEN_PID"]);
      const r = runWithFds(["run", "--preserve-fds", "1", "-b", b, "pfd"], [fd]);
      expect(r.stderr).toBe("");
      const [content, fds] = r.stdout.split("\n");
      expect(content).toBe("the-secret");
      expect(fds!.trim().split(" ")).toEqual(["0", "1", "2", "3", "4"]); // 4: ls's directory fd
      const again = openSync(secret, "r"); // a fresh offset: the first run read fd to its end
      const l = runWithFds(["run", "-b", b, "pfd2"], [again], { LISTEN_FDS: "1" });
      closeSync(again);
      expect(l.stderr).toBe("");
      expect(l.stdout.split("\n")[0]).toBe("the-secret");
      expect(l.stdout.split("\n")[2]).toBe("1 1");
    } finally {
      closeSync(fd);
    }
  });
});
