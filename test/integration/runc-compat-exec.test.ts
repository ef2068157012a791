// Needs root. What runc users rely on around exec and kill: exec's own failures exit 255,
// --ignore-paused, kill with signal 0, kill --all on a stopped container.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const uid = () => "rx" + Math.random().toString(36).slice(2, 7);

function waitFor(cond: () => boolean, what: string): void {
  const end = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    Bun.sleepSync(5);
  }
}

/**
 * `run` in the foreground of a process that exits 5, with `hooks`: bunc must end with that
 * status (not by a signal, bounded: a bunc that hangs fails here) and leave no container.
 */
async function runExitingWithHook(id: string, hooks: Record<string, unknown>): Promise<void> {
  const b = await sb.bundle(id, ["sh", "-c", "exit 5"], (c) => (c.hooks = hooks));
  const run = Bun.spawn([...BUNC, "--root", sb.root, "run", "-b", b, id], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  try {
    const code = await Promise.race([run.exited, Bun.sleep(20_000).then(() => "no exit in 20 s")]);
    expect({ code, signal: run.signalCode }).toEqual({ code: 5, signal: null });
    expect(sb.run(["state", id]).code).not.toBe(0);
  } finally {
    run.kill("SIGKILL");
    sb.run(["delete", "--force", id]);
  }
}

describe.skipIf(!isRoot)("exec and kill as runc (root)", () => {
  // runc's capabilities.bats: exec --cap adds to the bounding, effective and permitted sets,
  // and to the ambient set too when the config has an inheritable set (ambient needs it).
  test("exec --cap adds to ambient when the process has an inheritable set", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"], (c) => {
      c.process.capabilities = { inheritable: ["CAP_CHOWN", "CAP_SYSLOG"], permitted: ["CAP_KILL", "CAP_CHOWN"], effective: ["CAP_KILL"], bounding: ["CAP_KILL", "CAP_CHOWN", "CAP_SYSLOG"], ambient: ["CAP_CHOWN"] };
    });
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const caps = (args: string[]) => Object.fromEntries(sb.ok(["exec", ...args, id, "grep", "^Cap", "/proc/self/status"]).trim().split("\n").map((l) => l.split(":\t")));
      expect(caps([])).toEqual({ CapInh: "0000000400000001", CapPrm: "0000000000000021", CapEff: "0000000000000021", CapBnd: "0000000400000021", CapAmb: "0000000000000001" });
      expect(caps(["--cap", "CAP_SYSLOG"])).toEqual({ CapInh: "0000000400000001", CapPrm: "0000000400000021", CapEff: "0000000400000021", CapBnd: "0000000400000021", CapAmb: "0000000400000001" });
    } finally {
      sb.run(["delete", "-f", id]);
    }
  });

  test("exec's own failures exit 255; the process's status passes through", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"], () => {}, true);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      expect(sb.run(["exec", id, "sh", "-c", "exit 7"]).code).toBe(7);
      expect(sb.run(["exec", id, "nosuchprogram"]).code).toBe(255);
      expect(sb.run(["exec", "nosuchcontainer", "true"]).code).toBe(255);
      expect(sb.run(["exec", "--pid-file", join(sb.dir, "no/such/dir/pid"), id, "true"]).code).toBe(255);
      sb.ok(["pause", id]);
      const paused = sb.run(["exec", id, "true"]);
      expect(paused.code).toBe(255);
      expect(paused.stderr).toContain("paused");
      // --ignore-paused: the process starts frozen and runs once resumed.
      expect(sb.run(["exec", "--ignore-paused", "-d", id, "sh", "-c", "echo ran > /ignored"]).code).toBe(0);
      sb.ok(["resume", id]);
      waitFor(() => sb.run(["exec", id, "cat", "/ignored"]).stdout === "ran\n", "the exec'd process to run after resume");
    } finally {
      sb.run(["resume", id]);
      sb.run(["delete", "--force", id]);
    }
  }, 60_000);

  // runc's run and exec in the foreground pass on every signal they get (signal.Notify of
  // all, less SIGCHLD, SIGURG, SIGWINCH): SIGALRM or SIGTSTP to bunc reach the process, not
  // end or stop bunc with the container left behind.
  for (const [sig, num] of [["SIGALRM", 14], ["SIGTSTP", 20], ["SIGIO", 29]] as const)
    test(`run and exec in the foreground pass ${sig} on to the process`, async () => {
      const name = sig.slice(3);
      const script = `trap "echo got-${name}; exit 3" ${name}; echo ready; while :; do sleep 0.1; done`;
      const waitReady = async (p: ReturnType<typeof Bun.spawn>) => {
        const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
        let out = "";
        while (!out.includes("ready\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          out += new TextDecoder().decode(value);
        }
        return { reader, out };
      };
      // bunc's exit status and what the process wrote; bounded: a bunc the signal stopped or
      // ended (the process still holding the pipe) is a failure here, not a hang.
      const ended = async (p: ReturnType<typeof Bun.spawn>, r: Awaited<ReturnType<typeof waitReady>>) => {
        const code = await Promise.race([p.exited, Bun.sleep(20_000).then(() => "no exit in 20 s")]);
        if (code !== 3) return { code, signal: p.signalCode, out: r.out }; // (a container left running holds the pipe)
        for (let c = await r.reader.read(); !c.done; c = await r.reader.read()) r.out += new TextDecoder().decode(c.value);
        return { code, signal: p.signalCode, out: r.out };
      };
      const id = uid();
      const b = await sb.bundle(id, ["sh", "-c", script]);
      const run = Bun.spawn([...BUNC, "--root", sb.root, "run", "-b", b, id], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      try {
        const ready = await waitReady(run);
        process.kill(run.pid, num);
        expect(await ended(run, ready)).toEqual({ code: 3, signal: null, out: `ready\ngot-${name}\n` });
      } finally {
        run.kill("SIGKILL");
        sb.run(["delete", "--force", id]);
      }
      const d = uid();
      const sleeper = await sb.bundle(d, ["sleep", "30"]);
      sb.ok(["run", "-d", "-b", sleeper, d]);
      try {
        const exec = Bun.spawn([...BUNC, "--root", sb.root, "exec", d, "sh", "-c", script], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
        const ready = await waitReady(exec);
        process.kill(exec.pid, num);
        expect(await ended(exec, ready)).toEqual({ code: 3, signal: null, out: `ready\ngot-${name}\n` });
        exec.kill("SIGKILL");
      } finally {
        sb.run(["delete", "--force", d]);
      }
    }, 60_000);

  // runc's handler is in place before it creates the container, and what it gets meanwhile
  // goes on once the process runs. bunc's had come after start: a signal in between (here
  // from a createRuntime hook, bunc's child) ended bunc and left the container running.
  test("a signal that comes while run creates the container waits for its process, not end bunc", async () => {
    const id = uid();
    // (The init, PID 1 of its namespace, drops a signal it has no handler for: only bunc's
    // surviving and waiting is asserted here; the tests above see signals arrive.)
    await runExitingWithHook(id, { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", "kill -IO $PPID"] }] });
  });

  // runc's create and run -d catch every signal while they make the container (its handler is
  // set before it creates, and drops them once it detaches). bunc's had none there: a SIGTERM
  // (here from a createRuntime hook, bunc's child) ended it halfway, and left the state, the
  // cgroups and a dead init behind.
  for (const how of [["create"], ["run", "-d"]])
    test(`a signal that comes while ${how.join(" ")} makes the container does not end bunc (as runc)`, async () => {
      const id = uid();
      const once = join(sb.dir, `${id}.signalled`);
      const b = await sb.bundle(id, ["sleep", "30"], (c) => {
        c.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `[ -e ${once} ] || { touch ${once}; kill -TERM $PPID; }`] }] };
      });
      try {
        const r = sb.run([...how, "-b", b, id]);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
        expect(JSON.parse(sb.ok(["state", id])).status).toBe(how[0] === "create" ? "created" : "running");
      } finally {
        sb.run(["delete", "--force", id]);
      }
    });

  // After the process ends, runc goes on catching signals while it deletes the container. A
  // systemd unit's stop sends SIGTERM to the unit's processes again once its main process
  // (the init, as bunc reports it) is gone: bunc had stopped catching them, and ended there
  // with the container left behind. Here a poststop hook (in delete) sends that second signal.
  test("a signal that comes while run deletes the container after its process ended does not end bunc", async () => {
    const id = uid();
    // (Once: the cleanup's delete runs the hook too.)
    const once = join(sb.dir, `${id}.signalled`);
    await runExitingWithHook(id, { poststop: [{ path: "/bin/sh", args: ["sh", "-c", `[ -e ${once} ] || { touch ${once}; kill -TERM $PPID; }`] }] });
  });

  // The same for exec: the process signals bunc (its parent, seen in the host's PID
  // namespace) as the first thing it does. Whether that beats exec's old handler was a race
  // (the run test above is the one that failed every time); this one keeps exec's path honest.
  test("a signal that comes as exec starts the process goes on to it", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
    });
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const exec = Bun.spawn([...BUNC, "--root", sb.root, "exec", id, "sh", "-c", "trap 'exit 3' IO; kill -IO $PPID; sleep 30 & wait"], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      const code = await Promise.race([exec.exited, Bun.sleep(20_000).then(() => "no exit in 20 s")]);
      exec.kill("SIGKILL");
      expect({ code, signal: exec.signalCode }).toEqual({ code: 3, signal: null });
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  // runc's nsexec stage 2 calls setsid() for every process it starts, terminal or not: the
  // init and an exec'd process lead a session and process group of their own inside the
  // container, not the caller's (which the container's PID namespace cannot see: 0 there,
  // and a terminal's SIGINT or SIGHUP to the caller's group would reach them directly).
  for (const env of [{}, { BUNC_NATIVE_INIT: "0" }]) {
    const how = Object.keys(env).length ? "Bun init" : "native init";
    test(`the init and an exec'd process lead sessions of their own (${how})`, async () => {
      const id = uid();
      const b = await sb.bundle(id, ["sleep", "30"]);
      sb.ok(["run", "-d", "-b", b, id], { env });
      try {
        // pid, pgrp, session: fields 1, 5 and 6 of /proc/<pid>/stat (after the command's name).
        const ids = (stat: string) => { const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); return [stat.split(" ")[0], f[2], f[3]]; };
        expect(ids(sb.ok(["exec", id, "cat", "/proc/1/stat"]))).toEqual(["1", "1", "1"]);
        const [pid, pgrp, session] = ids(sb.ok(["exec", id, "cat", "/proc/self/stat"], { env }));
        expect(Number(pid)).toBeGreaterThan(1);
        expect([pgrp, session]).toEqual([pid, pid]);
      } finally {
        sb.run(["delete", "--force", id]);
      }
    });
  }

  // runc's pidfd-socket.bats: SIGTERM to a created container stops it. runc's Go init catches
  // every signal and dies of one whose default is to end; an init without handlers, PID 1 of
  // its namespace, would have the kernel drop it (the container stayed created). What the
  // caller ignored stays ignored, for the program too (the nohup test above).
  for (const env of [{}, { BUNC_NATIVE_INIT: "0" }]) {
    const how = Object.keys(env).length ? "Bun init" : "native init";
    test(`kill TERM of a created container ends its init, as runc's (${how})`, async () => {
      const id = uid();
      const b = await sb.bundle(id, ["sh", "-c", "grep SigCgt /proc/self/status"]);
      sb.ok(["create", "-b", b, id], { env });
      try {
        sb.ok(["kill", id, "TERM"]);
        waitFor(() => JSON.parse(sb.ok(["state", id])).status === "stopped", "the created container to stop");
      } finally {
        sb.run(["delete", "--force", id]);
      }
      // The program that runs gets no handler of the init's (execve resets them).
      const r = uid();
      expect(sb.ok(["run", "-b", b, r], { env })).toBe("SigCgt:\t0000000000000000\n");
    }, 40_000);
  }

  test("kill with signal 0 checks the init; kill --all of a stopped container succeeds", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      expect(sb.run(["kill", id, "0"]).code).toBe(0);
      sb.ok(["kill", id, "KILL"]);
      waitFor(() => JSON.parse(sb.ok(["state", id])).status === "stopped", "the container to stop");
      expect(sb.run(["kill", "--all", id, "KILL"]).code).toBe(0);
      expect(sb.run(["kill", id, "KILL"]).code).toBe(1);
      expect(sb.run(["kill", id, "-1"]).code).toBe(1);
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });
});

// runc's delete.bats and kill.bats: a container without a PID namespace of its own keeps its
// other processes when its init dies (no kernel kills them with it); delete and kill KILL end
// them all, through the cgroup, and leave the cgroup empty and removed.
describe.skipIf(!isRoot)("host PID namespace: delete and kill KILL end every process (root)", () => {
  /** Running, not a zombie: what becomes of an orphan waits for a PID 1 that may reap late. */
  const alive = (pid: number) => {
    try {
      return require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "")[0] !== "Z";
    } catch {
      return false;
    }
  };
  /** A container without a PID namespace: its init and three exec'd processes, by their host pids. */
  async function hostPidns(): Promise<{ id: string; init: number; pids: number[] }> {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "300"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "pid");
    });
    sb.ok(["run", "-d", "-b", b, id]);
    const init = JSON.parse(sb.ok(["state", id])).pid;
    const pids = [init];
    for (let i = 0; i < 3; i++) {
      const f = join(sb.dir, `${id}-${i}.pid`);
      sb.ok(["exec", "-d", "--pid-file", f, id, "sleep", "300"]);
      pids.push(Number(require("node:fs").readFileSync(f, "utf8")));
    }
    return { id, init, pids };
  }
  /** Ends what a failing check left, by pid, and the container. */
  function cleanUp(id: string, pids: number[]): void {
    for (const p of pids) try { process.kill(p, "SIGKILL"); } catch {}
    waitFor(() => pids.every((p) => !alive(p)), "the test's processes to be gone");
    sb.run(["delete", "--force", id]);
  }
  for (const [what, args] of [["delete", ["delete"]], ["delete --force", ["delete", "--force"]], ["kill KILL", ["kill"]]] as const) {
    test(`${what} of a container whose init is gone`, async () => {
      const { id, init, pids } = await hostPidns();
      try {
        process.kill(init, "SIGKILL");
        waitFor(() => !alive(init), "the init to be gone");
        expect(pids.filter(alive).length).toBe(3);
        const r = sb.run([...args, id, ...(args[0] === "kill" ? ["KILL"] : [])]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        waitFor(() => pids.every((p) => !alive(p)), "every process of the container to be gone");
      } finally {
        cleanUp(id, pids);
      }
      expect(sb.containers()).toEqual([]);
    });
  }
  test("kill KILL of a running one ends every process, not only the init", async () => {
    const { id, pids } = await hostPidns();
    try {
      expect(pids.filter(alive).length).toBe(4);
      sb.ok(["kill", id, "KILL"]);
      waitFor(() => pids.every((p) => !alive(p)), "every process of the container to be gone");
      waitFor(() => JSON.parse(sb.ok(["state", id])).status === "stopped", "the container to stop");
    } finally {
      cleanUp(id, pids);
    }
    expect(sb.containers()).toEqual([]);
  });
});

describe.skipIf(!isRoot)("--preserve-fds N (root)", () => {
  /** bunc with fds 3, 4 and 5 open on three files the test made; returns what the container listed. */
  function withFds(args: string[]): string {
    const files = [1, 2, 3].map((i) => {
      const f = join(sb.dir, `fd-${i}.txt`);
      require("node:fs").writeFileSync(f, `file ${i}`);
      return f;
    });
    const script = `exec 3<${files[0]} 4<${files[1]} 5<${files[2]}; exec ${[...require("../support/harness").BUNC, "--root", sb.root, ...args].map((a: string) => `'${a}'`).join(" ")}`;
    const r = Bun.spawnSync(["bash", "-c", script], { stdin: "ignore" });
    return r.stdout.toString() + r.stderr.toString();
  }
  const show = ["sh", "-c", "cat /proc/self/fd/3 /proc/self/fd/4 /proc/self/fd/5; echo"];

  test("run passes fds 3, 4 and 5", async () => {
    const id = uid();
    const b = await sb.bundle(id, show);
    expect(withFds(["run", "--preserve-fds", "3", "-b", b, id])).toBe("file 1file 2file 3\n");
  });

  test("exec passes fds 3, 4 and 5", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      expect(withFds(["exec", "--preserve-fds", "3", id, ...show])).toBe("file 1file 2file 3\n");
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });
});

describe.skipIf(!isRoot)("exec --cgroup (root)", () => {
  test("[controller:]path runs the process in an existing sub-cgroup; .. and missing paths are refused", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const paths = JSON.parse(require("node:fs").readFileSync(join(sb.root, id, "state.json"), "utf8")).cgroupPaths as Record<string, string>;
      const mem = paths.memory ?? paths[""];
      require("node:fs").mkdirSync(join(mem!, "sub"));
      const key = paths.memory ? "memory" : "";
      const out = sb.ok(["exec", "--cgroup", `${key ? "memory:" : ""}sub`, id, "cat", "/proc/self/cgroup"]);
      expect(out.split("\n").some((l) => (key ? /:memory:.*\/sub$/ : /^0::.*\/sub$/).test(l))).toBe(true);
      const up = sb.run(["exec", "--cgroup", "../escape", id, "true"]);
      expect(up.code).toBe(255);
      expect(up.stderr).toContain("is not a sub cgroup path");
      const missing = sb.run(["exec", "--cgroup", "nosuch", id, "true"]);
      expect(missing.code).toBe(255);
      expect(missing.stderr).toContain("does not exist");
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  // runc (libcontainer/container_linux.go newSetnsProcess): "unknown controller X in SubCgroupPaths",
  // exec.go getSubCgroupPaths: an empty or repeated controller, several paths without a prefix.
  test("an unknown controller, an empty or repeated one, or several unprefixed paths are refused, leaving nothing behind", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const paths = JSON.parse(require("node:fs").readFileSync(join(sb.root, id, "state.json"), "utf8")).cgroupPaths as Record<string, string>;
      const known = Object.keys(paths).find(Boolean) ?? "memory";
      const procs = () => require("node:fs").readFileSync(join(paths[known] ?? paths[""]!, "cgroup.procs"), "utf8");
      const before = procs();
      const refused = (args: string[], message: string) => {
        const r = sb.run(["exec", ...args, id, "true"]);
        expect(r.code).toBe(255);
        expect(r.stderr).toContain(message);
        expect(r.stderr.trim().split("\n").length).toBe(1);
      };
      refused(["--cgroup", "whaaat:/"], "--cgroup whaaat:/: unknown controller whaaat");
      refused(["--cgroup", "whaaat:nosuch"], "--cgroup whaaat:nosuch: unknown controller whaaat");
      refused(["--cgroup", `${known},whaaat:/`], `--cgroup ${known},whaaat:/: unknown controller whaaat`);
      refused(["--cgroup", `${known}:nosuch`], "does not exist");
      refused(["--cgroup", ":/"], "--cgroup :/: empty controller");
      refused(["--cgroup", `${known}:/`, "--cgroup", `${known}:/`], `controller ${known} given more than once`);
      refused(["--cgroup", "/", "--cgroup", "/"], "--cgroup /: missing <controller>: prefix");
      expect(procs()).toBe(before); // no process was started, none is left in the container's cgroup
      sb.ok(["exec", "--cgroup", `${known}:/`, id, "true"]); // a known controller, its own cgroup
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });
});

describe.skipIf(!isRoot)("run's child subreaper, and --no-subreaper (root)", () => {
  // A container without a PID namespace: the orphan of a shell that ended goes to the nearest
  // subreaper. The program prints the orphan's parent, then the test's file lets it end.
  const script = `pid=$(sh -c 'sleep 60 >/dev/null 2>&1 & echo $!'); echo "orphan=$pid ppid=$(awk '/^PPid/{print $2}' /proc/$pid/status)"; while [ ! -e /tmp/go ]; do sleep 0.05; done`;
  for (const [what, flags, bunIsParent] of [["run (as runc's default)", [], true], ["run --no-subreaper", ["--no-subreaper"], false]] as const) {
    test(`${what}: the orphan's parent is ${bunIsParent ? "bunc, which reaps it" : "not bunc"}`, async () => {
      const id = uid();
      const b = await sb.bundle(id, ["sh", "-c", script], (c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "pid");
      }, true);
      const p = Bun.spawn([...BUNC, "--root", sb.root, "run", ...flags, "-b", b, id], { stdout: "pipe", stderr: "pipe" });
      let orphan = 0;
      try {
        const reader = p.stdout.getReader();
        let out = "";
        while (!/ppid=\d+\n/.test(out)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`run ended early: ${out} ${await new Response(p.stderr).text()}`);
          out += new TextDecoder().decode(value);
        }
        const m = /orphan=(\d+) ppid=(\d+)/.exec(out)!;
        orphan = Number(m[1]);
        expect(Number(m[2]) === p.pid).toBe(bunIsParent);
        require("node:fs").writeFileSync(join(b, "rootfs/tmp/go"), "");
        expect(await p.exited).toBe(0);
      } finally {
        if (p.exitCode === null) p.kill(9);
        if (orphan) try { process.kill(orphan, "SIGKILL"); } catch {}
        sb.run(["delete", "--force", id]);
      }
      // bunc's delete ended the orphan with the container; as its parent it reaped it too
      if (bunIsParent) expect(require("node:fs").existsSync(`/proc/${orphan}`)).toBe(false);
      expect(sb.containers()).toEqual([]);
    });
  }
});

// runc's fixStdioPermissions: the process's stdio is made its user's before the switch, so a
// non-root program can reopen it (`> /dev/stdout`, nginx's logs symlinked there). bunc left
// pipes and files root's: "can't create /dev/stdout: Permission denied". The host's
// /dev/null (stdin here) is never changed.
describe.skipIf(!isRoot)("the stdio of a non-root process (as runc)", () => {
  const script = "echo out > /dev/stdout && echo err > /dev/stderr";
  // bunc's stdout and stderr are pipes (Bun.spawn's own are sockets, which no one can reopen)
  const spawn = async (args: string[], env: Record<string, string> = {}) => {
    const p = Bun.spawn(["bash", "-c", 'set -o pipefail; "$@" 2> >(cat >&2) | cat', "bash", ...BUNC, "--root", sb.root, ...args],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  };
  for (const [how, env] of [["native init", {}], ["the Bun init", { BUNC_NATIVE_INIT: "0" }], ["the Bun init's setup", { BUNC_HOST_SETUP: "0" }]] as const) {
    test(`run and exec as uid 1000 reopen their stdout and stderr pipes (${how})`, async () => {
      const id = uid();
      const nullOwner = () => { const s = require("node:fs").statSync("/dev/null"); return [s.uid, s.gid, s.mode]; };
      const before = nullOwner();
      const b = await sb.bundle(id, ["sh", "-c", script], (c) => (c.process.user = { uid: 1000, gid: 1000 }));
      expect(await spawn(["run", "-b", b, id], env)).toEqual({ code: 0, stdout: "out\n", stderr: "err\n" });
      const d = await sb.bundle(id + "d", ["sleep", "30"]);
      try {
        sb.ok(["run", "-d", "-b", d, id + "d"], { env });
        expect(await spawn(["exec", "--user", "1000:1000", id + "d", "sh", "-c", script], env)).toEqual({ code: 0, stdout: "out\n", stderr: "err\n" });
      } finally {
        sb.run(["delete", "--force", id + "d"]);
      }
      expect(nullOwner()).toEqual(before);
    });
  }

  test("a root process is given the caller's fds as they are, and they stay the caller's (a file or terminal of uid 1000)", async () => {
    const fs = require("node:fs") as typeof import("node:fs");
    for (const env of [{}, { BUNC_NATIVE_INIT: "0" }]) {
      const id = uid();
      const b = await sb.bundle(id, ["sh", "-c", "echo out; echo err >&2"]);
      const out = join(sb.dir, `${id}.out`), err = join(sb.dir, `${id}.err`);
      for (const f of [out, err]) { fs.writeFileSync(f, ""); fs.chownSync(f, 1000, 1000); }
      const run = Bun.spawnSync([...BUNC, "--root", sb.root, "run", "-b", b, id], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err), env: { ...process.env, ...env } });
      expect({ env, code: run.exitCode, out: fs.readFileSync(out, "utf8"), err: fs.readFileSync(err, "utf8") }).toEqual({ env, code: 0, out: "out\n", err: "err\n" });
      expect([fs.statSync(out).uid, fs.statSync(err).uid]).toEqual([1000, 1000]);
    }
  });

  test("in the foreground the caller's own files (or terminal) are not given away: the process gets pipes, as runc's", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sh", "-c", script], (c) => (c.process.user = { uid: 1000, gid: 1000 }));
    const fs = require("node:fs") as typeof import("node:fs");
    const out = join(sb.dir, `${id}.out`), err = join(sb.dir, `${id}.err`);
    const run = Bun.spawnSync([...BUNC, "--root", sb.root, "run", "-b", b, id], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err) });
    expect({ code: run.exitCode, out: fs.readFileSync(out, "utf8"), err: fs.readFileSync(err, "utf8") }).toEqual({ code: 0, out: "out\n", err: "err\n" });
    expect([fs.statSync(out).uid, fs.statSync(err).uid]).toEqual([0, 0]);
    const d = await sb.bundle(id + "d", ["sleep", "30"]);
    try {
      sb.ok(["run", "-d", "-b", d, id + "d"]);
      const exec = Bun.spawnSync([...BUNC, "--root", sb.root, "exec", "--user", "1000:1000", id + "d", "sh", "-c", script], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(err) });
      expect({ code: exec.exitCode, out: fs.readFileSync(out, "utf8"), err: fs.readFileSync(err, "utf8") }).toEqual({ code: 0, out: "out\n", err: "err\n" });
      expect([fs.statSync(out).uid, fs.statSync(err).uid]).toEqual([0, 0]);
    } finally {
      sb.run(["delete", "--force", id + "d"]);
    }
  });
});
