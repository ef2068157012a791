// Needs root. Runtime spec 1.3 process attributes, seen from inside real containers:
// process.scheduler, process.ioPriority, process.execCPUAffinity, linux.personality and
// linux.memoryPolicy; bad values fail create with their JSON path and leave nothing.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot, PROJECT } from "../support/harness";

const sb = fileSandbox();
const uid = () => "s13" + Math.random().toString(36).slice(2, 7);
const hasNative = existsSync(join(PROJECT, `dist/bunc-init-${process.arch}`));
const cpus = readFileSync("/sys/devices/system/cpu/online", "utf8").trim();
const lastCpu = Number(cpus.split(/[-,]/).pop());
const numa = existsSync("/proc/self/numa_maps");

describe.skipIf(!isRoot || !hasNative)("runtime spec 1.3 process attributes (root)", () => {
  test("scheduler, ioPriority and personality as the program sees them", async () => {
    const b = await sb.bundle(uid(), ["sh", "-c", "uname -m; awk '{print $19, $41}' /proc/self/stat; ionice -p $$"], (c) => {
      c.process.scheduler = { policy: "SCHED_BATCH", nice: 7 };
      c.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 6 };
      c.linux.personality = { domain: "LINUX32" };
    });
    const r = sb.run(["run", "-b", b, uid()]);
    expect(r.stderr).toBe("");
    // uname -m under LINUX32; nice 7 and policy 3 (SCHED_BATCH) in /proc/self/stat; ionice.
    expect(r.stdout).toBe("i686\n7 3\nbest-effort: prio 6\n");
  });

  test("SCHED_FIFO with a priority (CAP_SYS_NICE held while it is set)", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sh", "-c", "awk '{print $18, $41}' /proc/self/stat"], (c) => {
      c.process.scheduler = { policy: "SCHED_FIFO", priority: 10 };
      // With RT group scheduling a cgroup needs a real-time budget of its own (from the root's).
      if (existsSync("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")) {
        c.linux.cgroupsPath = `/${id}`;
        c.linux.resources = { cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } };
      }
    });
    const r = sb.run(["run", "-b", b, id]);
    expect(r.stderr).toBe("");
    // priority field of /proc/<pid>/stat is -1 - rt_priority for real-time tasks.
    expect(r.stdout).toBe("-11 1\n");
  });

  test.skipIf(!numa)("linux.memoryPolicy, seen in /proc/self/numa_maps", async () => {
    const b = await sb.bundle(uid(), ["sh", "-c", "head -1 /proc/self/numa_maps"], (c) => {
      c.linux.memoryPolicy = { mode: "MPOL_BIND", nodes: "0" };
    });
    const r = sb.run(["run", "-b", b, uid()]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(" bind:0 ");
  });

  test.skipIf(lastCpu < 1)("exec's execCPUAffinity: final is the program's CPU list; not for the init", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 30"], (c) => {
      c.process.execCPUAffinity = { final: "1" };
    });
    const out = join(sb.dir, `${id}.out`);
    sb.ok(["create", "-b", b, id]);
    try {
      sb.ok(["start", id]);
      const proc = join(sb.dir, `${id}.json`);
      writeFileSync(proc, JSON.stringify({ args: ["grep", "Cpus_allowed_list", "/proc/self/status"], cwd: "/", env: ["PATH=/bin:/usr/bin"], execCPUAffinity: { initial: "0", final: "1" } }));
      expect(sb.ok(["exec", "--process", proc, id]).replace(/\s+/g, " ").trim()).toBe("Cpus_allowed_list: 1");
      writeFileSync(proc, JSON.stringify({ args: ["grep", "Cpus_allowed_list", "/proc/self/status"], cwd: "/", env: ["PATH=/bin:/usr/bin"], execCPUAffinity: { final: "0" } }));
      expect(sb.ok(["exec", "--process", proc, id]).replace(/\s+/g, " ").trim()).toBe("Cpus_allowed_list: 0");
      // The init is not pinned: its list is the host's.
      const pid = JSON.parse(sb.ok(["state", id])).pid;
      expect(readFileSync(`/proc/${pid}/status`, "utf8")).toContain(`Cpus_allowed_list:\t${cpus}`);
    } finally {
      sb.run(["delete", "--force", id]);
    }
    void out;
  });

  // runc (its cpu_affinity.bats): a bunc started with a narrower CPU affinity (taskset, a
  // systemd unit's CPUAffinity=) does not hand it down: the init, and an exec without
  // execCPUAffinity, run on every CPU of their cpuset; an exec with only `initial` keeps it.
  test.skipIf(lastCpu < 1 || !Bun.which("taskset"))("a bunc pinned to one CPU does not pin the container's processes", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    // A detached container keeps what it was given as stdout: nothing to wait on for `run -d`.
    const pinned = (...args: string[]) => {
      const detached = args[0] === "run";
      const r = Bun.spawnSync(["taskset", "-c", "0", ...BUNC, "--root", sb.root, ...args], { stdin: "ignore", stdout: detached ? "ignore" : "pipe", stderr: detached ? "inherit" : "pipe" });
      if (r.exitCode !== 0) throw new Error(`bunc ${args.join(" ")}: ${r.stderr}`);
      return r.stdout?.toString().replace(/\s+/g, " ").trim() ?? "";
    };
    pinned("run", "-d", "-b", b, id);
    try {
      const pid = JSON.parse(sb.ok(["state", id])).pid;
      expect(readFileSync(`/proc/${pid}/status`, "utf8")).toContain(`Cpus_allowed_list:\t${cpus}\n`);
      expect(pinned("exec", id, "grep", "Cpus_allowed_list", "/proc/self/status")).toBe(`Cpus_allowed_list: ${cpus}`);
      const proc = join(sb.dir, `${id}.json`);
      writeFileSync(proc, JSON.stringify({ args: ["grep", "Cpus_allowed_list", "/proc/self/status"], cwd: "/", env: ["PATH=/bin:/usr/bin"], execCPUAffinity: { initial: "1" } }));
      expect(pinned("exec", "--process", proc, id)).toBe("Cpus_allowed_list: 1");
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  test("impossible values fail create with their JSON path, nothing left behind", async () => {
    const cases: [string, (c: any) => void][] = [
      ["process.scheduler.priority", (c) => (c.process.scheduler = { policy: "SCHED_FIFO" })],
      ["process.scheduler.policy", (c) => (c.process.scheduler = { policy: "SCHED_ISO" })],
      ["process.scheduler", (c) => (c.process.scheduler = { policy: "SCHED_DEADLINE", runtime: 10, deadline: 5 })],
      ["process.ioPriority.priority", (c) => (c.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 9 })],
      ["process.execCPUAffinity.final", (c) => (c.process.execCPUAffinity = { final: "4096" })],
      ["linux.personality.domain", (c) => (c.linux.personality = { domain: "SUNOS" })],
      ["linux.memoryPolicy.nodes", (c) => (c.linux.memoryPolicy = { mode: "MPOL_BIND", nodes: "63" })],
      ["linux.memoryPolicy", (c) => (c.linux.memoryPolicy = { mode: "MPOL_LOCAL", nodes: "0" })],
    ];
    for (const [path, edit] of cases) {
      const id = uid();
      const b = await sb.bundle(id, ["true"], edit);
      const r = sb.run(["create", "-b", b, id]);
      expect({ path, code: r.code, lines: r.stderr.trim().split("\n").length }).toEqual({ path, code: 1, lines: 1 });
      expect(r.stderr).toContain(path);
      expect(sb.containers()).toEqual([]);
    }
  });
});

describe.skipIf(!isRoot)("linux.intelRdt (root)", () => {
  test("refused at create with a clear reason, nothing left behind", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["true"], (c) => (c.linux.intelRdt = { closID: "x", l3CacheSchema: "L3:0=f" }));
    const r = sb.run(["create", "-b", b, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("linux.intelRdt:");
    expect(sb.containers()).toEqual([]);
  });
});
