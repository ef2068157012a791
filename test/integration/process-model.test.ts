// Needs root. Process model v2: after `create` no Bun waits in the container (the native
// init holds well under 1 MiB and is already in every cgroup and its cgroup namespace), a
// 2 MiB container runs, and `exec` starts no second Bun.
import { describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot, PROJECT, waitFor } from "../support/harness";

const sb = fileSandbox();
const uid = () => "pm" + Math.random().toString(36).slice(2, 8);
const hasNative = existsSync(join(PROJECT, `dist/bunc-init-${process.arch}`));
const hasStrace = Bun.which("strace") !== null;
const hasScript = Bun.which("script") !== null;

function vmRssKb(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)/m)![1]);
}

/** The container's processes: everything in its pids cgroup (v1) or cgroup2 directory. */
function cgroupProcs(id: string): number[] {
  for (const d of [`/sys/fs/cgroup/pids/bunc/${id}`, `/sys/fs/cgroup/unified/bunc/${id}`, `/sys/fs/cgroup/bunc/${id}`]) {
    try {
      return readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {}
  }
  return [];
}

describe.skipIf(!isRoot || !hasNative)("process model v2 (root)", () => {
  test("after create: the init is in every cgroup and its own cgroup namespace, and tiny", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["true"], (c) => {
      if (!c.linux.namespaces.some((n: any) => n.type === "cgroup")) c.linux.namespaces.push({ type: "cgroup" });
    });
    const pidFile = join(sb.dir, `${id}.pid`);
    sb.ok(["create", "-b", b, "--pid-file", pidFile, id]);
    try {
      const pid = Number(readFileSync(pidFile, "utf8"));
      const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").filter(Boolean);
      const init = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").filter(Boolean);
      // Every hierarchy, memory and pids included, already points at the container's cgroup.
      expect(init.length).toBe(own.length);
      for (const line of init) expect(line).toEndWith(`/bunc/${id}`);
      expect(readlinkSync(`/proc/${pid}/ns/cgroup`)).not.toBe(readlinkSync("/proc/self/ns/cgroup"));
      const procs = cgroupProcs(id);
      expect(procs).toContain(pid);
      for (const p of procs) expect(vmRssKb(p)).toBeLessThanOrEqual(1024);
      expect(readlinkSync(`/proc/${pid}/exe`)).toStartWith("/memfd:bunc-init");
    } finally {
      sb.ok(["delete", "--force", id]);
    }
  });

  test("a cwd only root can enter works for a non-root process (entered before the user switch, as runc)", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sh", "-c", "pwd; id -u"], (c) => {
      c.process.cwd = "/root"; // 0700 root in Alpine
      c.process.user = { uid: 1000, gid: 1000 };
    });
    const r = sb.run(["run", "-b", b, id]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/root\n1000\n");
  });

  test("a container limited to 2 MiB of memory runs /bin/true", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["/bin/true"], (c) => {
      c.linux.resources = { ...(c.linux.resources ?? {}), memory: { limit: 2 * 1024 * 1024 } };
    });
    const r = sb.run(["run", "-b", b, id]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test.skipIf(!hasStrace)("run starts no second Bun: bunc sets the rootfs up itself, the native init runs the program", async () => {
    const id = uid();
    // Shell builtins only: no execve besides bunc's and the program's.
    const b = await sb.bundle(id, ["sh", "-c", "echo $$; read -r line < /proc/1/stat && echo ${line%% *}"]);
    const trace = join(sb.dir, `${id}.strace`);
    const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "run", "-b", b, id]);
    // The program sees itself as PID 1 of its own PID namespace (proc made for it by bunc).
    expect(r.stdout.toString()).toBe("1\n1\n");
    expectNoSecondBun(tracedExecs(trace));
  });

  /** The programs a traced command executed (strace -f): bunc, the native init, hooks, the program. */
  function tracedExecs(trace: string): string[] {
    return readFileSync(trace, "utf8").split("\n").filter((l) => /execve(at)?\(/.test(l) && !/resumed|ENOENT/.test(l));
  }

  /**
   * The native init executed once and no Bun init (bunc executed again by fd, with _BUNC_INIT);
   * `onlySh`: besides them only bunc and the program (sh running builtins).
   */
  function expectNoSecondBun(calls: string[], onlySh = true): void {
    expect(calls.filter((l) => l.includes('"bunc-init"')).length).toBe(1);
    expect(calls.some((l) => l.includes("_BUNC_INIT") || l.includes("execveat("))).toBe(false);
    if (onlySh) expect(calls.filter((l) => !l.includes('"bunc-init"')).length).toBe(2); // bunc, then sh
  }

  /**
   * The native init is both stages: bunc posix_spawns it (a vfork-style clone that shares
   * bunc's memory until the exec) and it clones the container's process into the new
   * namespaces itself, so no process is ever a copy of Bun's memory.
   */
  function expectNoCopyOfBun(trace: string, newNamespace: RegExp): void {
    const lines = readFileSync(trace, "utf8").split("\n");
    const bunc = Number(lines[0]!.split(" ")[0]);
    const clones = lines.filter((l) => /^\d+ +clone3?\(/.test(l) && !/resumed|CLONE_THREAD/.test(l));
    // bunc's own clones: only vfork-style ones (posix_spawn), none without CLONE_VM.
    const ofBunc = clones.filter((l) => Number(l.split(" ")[0]) === bunc);
    expect(ofBunc.length).toBeGreaterThan(0);
    for (const l of ofBunc) expect(l).toContain("CLONE_VM|CLONE_VFORK");
    // The clone into the container's namespaces comes from the process that executed the native init.
    const init = lines.find((l) => /execve(at)?\(/.test(l) && l.includes('"bunc-init"') && !/resumed/.test(l));
    expect(init).toBeDefined();
    const stage1 = Number(init!.split(" ")[0]);
    const into = clones.filter((l) => newNamespace.test(l));
    expect(into.length).toBe(1);
    expect(Number(into[0]!.split(" ")[0])).toBe(stage1);
  }

  test.skipIf(!hasStrace)("no copy of Bun: the native init, spawned by bunc, clones the container's init into its namespaces", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["true"]);
    const trace = join(sb.dir, `${id}.strace`);
    const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=clone,clone3,execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "run", "-b", b, id]);
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expectNoCopyOfBun(trace, /CLONE_NEWPID/);
  });

  test.skipIf(!hasStrace)("the Bun init (BUNC_HOST_SETUP=0) is cloned by the native stages too, and executes bunc", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["true"]);
    const trace = join(sb.dir, `${id}.strace`);
    const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=clone,clone3,execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "run", "-b", b, id], { env: { ...process.env, BUNC_HOST_SETUP: "0" } });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expectNoCopyOfBun(trace, /CLONE_NEWPID/);
    // Stage 2 executed bunc by fd (the Bun init), which executed the native init.
    expect(tracedExecs(trace).filter((l) => l.includes("execveat(")).length).toBe(2);
  });

  test.skipIf(!hasStrace || !hasScript)("a terminal container starts no second Bun: bunc opens the pty, the native init takes it", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty"], (c) => {
      c.process.terminal = true;
    });
    const trace = join(sb.dir, `${id}.strace`);
    const cmd = ["strace", "-f", "-qq", "-e", "trace=execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "run", "-b", b, id];
    const r = Bun.spawnSync(["script", "-qec", `${cmd.join(" ")}; echo "EXIT=$?"`, "/dev/null"], { stdin: "ignore" });
    const out = r.stdout.toString().replace(/\r/g, "");
    expect(out).toContain("on-a-tty\n");
    expect(out).toContain("EXIT=0");
    // The Bun init would be bunc executed again by fd (argv ["bunc"]).
    expectNoSecondBun(tracedExecs(trace));
  });

  test.skipIf(!hasStrace)("createContainer hooks and --no-pivot start no second Bun either", async () => {
    const id = uid();
    const seen = join(sb.dir, `${id}.hook`);
    const b = await sb.bundle(id, ["sh", "-c", "read -r l < /proc/1/stat && echo ${l%% *}; echo $PWD"], (c) => {
      // The hook runs in the container's namespaces (mount and PID), in the rootfs.
      c.hooks = { createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `readlink /proc/self/ns/mnt /proc/self/ns/pid_for_children > ${seen}; pwd >> ${seen}`] }] };
    });
    const trace = join(sb.dir, `${id}.strace`);
    const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "run", "--no-pivot", "-b", b, id]);
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe("1\n/\n");
    const calls = tracedExecs(trace);
    expect(calls.filter((l) => l.includes('"bunc-init"')).length).toBe(1);
    expect(calls.filter((l) => l.includes("execveat(")).length).toBe(0); // no Bun init (bunc by fd)
    const [mnt, pidns, cwd] = readFileSync(seen, "utf8").trim().split("\n");
    expect(mnt).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    expect(pidns).not.toBe(readlinkSync("/proc/self/ns/pid"));
    expect(cwd).toBe(readRootfs(b));
  });

  test.skipIf(!hasStrace)("exec starts no second Bun: only the native init and the program are executed", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const trace = join(sb.dir, `${id}.strace`);
      const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=clone,clone3,execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "exec", id, "sh", "-c", "echo in"]);
      expect(r.stdout.toString()).toBe("in\n");
      // bunc itself, the native init, the program: no bunc re-executed as an init.
      expectNoSecondBun(tracedExecs(trace));
      // The process is cloned by the native init (stage 1), in the container's PID namespace.
      expectNoCopyOfBun(trace, /CLONE_PARENT|CLONE_INTO_CGROUP/);
    } finally {
      sb.ok(["delete", "--force", id]);
    }
  });

  test.skipIf(!hasStrace)("exec reads the container's state once and finds its cgroups without mountinfo, and the process is in all of them", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const trace = join(sb.dir, `${id}.strace`);
      const pidFile = join(sb.dir, `${id}.exec-pid`);
      // Output to files: the detached sleep keeps what it inherits open.
      const err = join(sb.dir, `${id}.exec-err`);
      const r = Bun.spawnSync(["strace", "-qq", "-e", "trace=open,openat", "-o", trace, ...BUNC, "--root", sb.root, "exec", "-d", "--pid-file", pidFile, id, "sleep", "30"], { stdout: "ignore", stderr: Bun.file(err) });
      expect({ code: r.exitCode, err: readFileSync(err, "utf8") }).toEqual({ code: 0, err: "" });
      const opens = readFileSync(trace, "utf8").split("\n");
      // bunc alone (no -f): the CLI and the library share one load of state.json, and the
      // cgroups come from its saved paths (reading mountinfo was ~0.4 ms of an exec).
      expect(opens.filter((l) => l.includes(`/${id}/state.json"`)).length).toBe(1);
      expect(opens.filter((l) => l.includes("/mountinfo")).length).toBe(0);
      // Joined every hierarchy the init is in (v1 tasks, cgroup2 by CLONE_INTO_CGROUP or cgroup.procs).
      const cgroupsOf = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n").sort();
      expect(cgroupsOf(Number(readFileSync(pidFile, "utf8")))).toEqual(cgroupsOf(JSON.parse(sb.ok(["state", id])).pid));
    } finally {
      sb.ok(["delete", "--force", id]);
    }
  });

  test.skipIf(!hasStrace)("state, start and delete start no thread: each allocates under the 64 blocks of heap after which JavaScriptCore starts its block warm-up", async () => {
    // The warm-up thread (and the allocator's scavenger it wakes) made 32 more blocks resident
    // for a command about to exit: ~0.6 ms of CPU and ~0.5 MiB of peak RSS each (README, Performance).
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "1"]);
    sb.ok(["create", "-b", b, id]);
    // Another container keeps the /bunc parent cgroups busy, as on any host running more than
    // one: delete's rmdir of them fails, and must not build an error object per hierarchy.
    const other = uid();
    sb.ok(["create", "-b", await sb.bundle(other, ["sleep", "30"]), other]);
    const threads = (args: string[]) => {
      const trace = join(sb.dir, `${id}.${args[0]}.strace`);
      const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=clone,clone3", "-o", trace, ...BUNC, "--root", sb.root, ...args], { stdout: "ignore", stderr: "pipe" });
      expect({ args, code: r.exitCode, err: r.stderr.toString() }).toEqual({ args, code: 0, err: "" });
      return readFileSync(trace, "utf8").split("\n").filter((l) => l.includes("CLONE_THREAD")).length;
    };
    try {
      expect({ state: threads(["state", id]), start: threads(["start", id]) }).toEqual({ state: 0, start: 0 });
      sb.ok(["kill", id, "KILL"]);
      waitFor(() => JSON.parse(sb.ok(["state", id])).status === "stopped", "the container to stop");
      expect(threads(["delete", id])).toBe(0);
    } finally {
      sb.run(["delete", "--force", id]);
      sb.run(["delete", "--force", other]);
    }
  });

  test.skipIf(!hasStrace || !hasScript)("exec -t starts no second Bun: bunc opens the pty in the container's devpts, the native init takes it", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const trace = join(sb.dir, `${id}.strace`);
      const cmd = ["strace", "-f", "-qq", "-e", "trace=execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "exec", "-t", "--user", "1000", id, "sh", "-c", "'test -t 0 && echo on-a-tty; readlink /proc/self/fd/0; exit 4'"];
      const r = Bun.spawnSync(["script", "-qec", `${cmd.join(" ")}; echo "EXIT=$?"`, "/dev/null"], { stdin: "ignore" });
      const out = r.stdout.toString().replace(/\r/g, "");
      expect(out).toContain("on-a-tty\n");
      expect(out).toMatch(/\/dev\/pts\/\d+\n/); // a pty of the container's devpts
      expect(out).toContain("EXIT=4");
      expectNoSecondBun(tracedExecs(trace), false); // sh runs readlink too
    } finally {
      sb.ok(["delete", "--force", id]);
    }
  });

  test("exec's native init reports (step, errno) as one line, and HOME comes from the container", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const missing = sb.run(["exec", id, "nosuchprogram"]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain(`exec: "nosuchprogram": executable file not found in $PATH`);
      const cwd = sb.run(["exec", "--cwd", "/nonexistent", id, "true"]);
      expect(cwd.stderr).toContain("chdir /nonexistent: ENOENT");
      expect(sb.ok(["exec", "--user", "65534", id, "sh", "-c", "echo $HOME"])).toBe("/home/nobody\n".replace("/home/nobody", readFileSync(join(readRootfs(b), "etc/passwd"), "utf8").split("\n").find((l) => l.split(":")[2] === "65534")!.split(":")[5]!));
    } finally {
      sb.ok(["delete", "--force", id]);
    }
  });
});

describe.skipIf(!isRoot)("exec reads the container's /etc/passwd (root)", () => {
  test("HOME of a user that only the container knows", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"], () => {}, true);
    appendFileSync(join(readRootfs(b), "etc/passwd"), "tester:x:4321:4321:t:/home/tester-only-here:/bin/sh\n");
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      expect(sb.ok(["exec", "--user", "4321", id, "sh", "-c", "echo $HOME"])).toBe("/home/tester-only-here\n");
    } finally {
      sb.ok(["delete", "--force", id]);
    }
  });
});

function readRootfs(bundle: string): string {
  return JSON.parse(readFileSync(join(bundle, "config.json"), "utf8")).root.path;
}

describe.skipIf(!isRoot)("without the native init (BUNC_NATIVE_INIT=0: the Bun init does it all)", () => {
  test("run, exec and a failed start work the same", async () => {
    const env = { BUNC_NATIVE_INIT: "0" };
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    const pidFile = join(sb.dir, `${id}.pid`);
    sb.ok(["create", "-b", b, "--pid-file", pidFile, id], { env });
    try {
      expect(readlinkSync(`/proc/${Number(readFileSync(pidFile, "utf8"))}/exe`)).not.toStartWith("/memfd:");
      sb.ok(["start", id], { env });
      expect(sb.ok(["exec", id, "sh", "-c", "echo $HOME"], { env })).toBe("/root\n");
      expect(sb.run(["exec", id, "nosuchprogram"], { env }).stderr).toContain("executable file not found");
    } finally {
      sb.ok(["delete", "--force", id]);
    }
    const hook = await sb.bundle(uid(), ["true"], (c) => (c.hooks = { startContainer: [{ path: "/bin/false" }] }));
    const r = sb.run(["run", "-b", hook, uid()], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("startContainer");
  });
});

describe.skipIf(!isRoot)("signal dispositions (root)", () => {
  /** SigIgn of the container's process, run by bunc started with SIGHUP ignored (as by nohup). */
  function ignored(args: string[], env: Record<string, string> = {}): bigint {
    const r = Bun.spawnSync(["sh", "-c", 'trap "" HUP; exec "$@"', "sh", ...BUNC, "--root", sb.root, ...args], { env: { ...process.env, ...env }, stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    return BigInt("0x" + r.stdout.toString().match(/SigIgn:\s+([0-9a-f]+)/)![1]);
  }
  const bit = (sig: number) => 1n << BigInt(sig - 1);
  const probe = ["sh", "-c", "grep SigIgn /proc/self/status"];

  // Bun ignores SIGPIPE and SIGXFSZ, and the libc's posix_spawn its internal signals (32, 33);
  // ignored stays ignored across execve, so `yes | head` in a container would have seen EPIPE.
  test("the process gets SIGPIPE, SIGXFSZ and the libc's signals at their default; what the caller ignored goes on (as runc)", async () => {
    const id = uid();
    const b = await sb.bundle(id, probe);
    for (const env of [{}, { BUNC_NATIVE_INIT: "0" }]) {
      const ign = ignored(["run", "-b", b, uid()], env);
      for (const sig of [13, 25, 32, 33]) expect({ env, sig, ignored: (ign & bit(sig)) !== 0n }).toEqual({ env, sig, ignored: false });
      expect((ign & bit(1)) !== 0n).toBe(true); // SIGHUP, the caller's
    }
    const sleeper = await sb.bundle(uid(), ["sleep", "30"]);
    const running = uid();
    sb.ok(["run", "-d", "-b", sleeper, running]);
    try {
      const ign = ignored(["exec", running, ...probe]);
      for (const sig of [13, 25, 32, 33]) expect({ sig, ignored: (ign & bit(sig)) !== 0n }).toEqual({ sig, ignored: false });
      expect((ign & bit(1)) !== 0n).toBe(true);
    } finally {
      sb.ok(["delete", "--force", running]);
    }
  });
});

// vm.memfd_noexec=1 (Linux 6.3+, a hardening setting) makes a memfd non-executable unless it
// asks for MFD_EXEC: the native init runs from one. Global: set here and put back in finally.
const MEMFD_NOEXEC = "/proc/sys/vm/memfd_noexec";
describe.skipIf(!isRoot || !existsSync(MEMFD_NOEXEC))("with vm.memfd_noexec=1 (root)", () => {
  test("run and exec still start the native init (its memfd asks for MFD_EXEC)", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    const before = readFileSync(MEMFD_NOEXEC, "utf8").trim();
    writeFileSync(MEMFD_NOEXEC, "1");
    try {
      sb.ok(["run", "-d", "-b", b, id]);
      try {
        expect(sb.ok(["exec", id, "echo", "in"])).toBe("in\n");
      } finally {
        sb.ok(["delete", "--force", id]);
      }
      const once = await sb.bundle(uid(), ["echo", "hi"]);
      expect(sb.ok(["run", "-b", once, uid()])).toBe("hi\n");
      // The Bun init's stages come from the native init's memfd too.
      expect(sb.ok(["run", "-b", once, uid()], { env: { BUNC_HOST_SETUP: "0" } })).toBe("hi\n");
    } finally {
      writeFileSync(MEMFD_NOEXEC, before);
    }
  });
});
