// Needs root. runc behaviours around cgroups and ps: a non-empty cgroup is a warning,
// `update --memory -1` lifts a memory+swap limit, resources.devices alone decides device
// access, and `ps` answers in ps(1)'s formats.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot } from "../support/harness";
import { skipping } from "../support/host";

const sb = fileSandbox();
const uid = () => "rc" + Math.random().toString(36).slice(2, 7);
const V1 = "/sys/fs/cgroup/memory";
const hybridV1 = existsSync(join(V1, "memory.limit_in_bytes"));

describe.skipIf(!isRoot)("cgroups as runc (root)", () => {
  test.skipIf(!hybridV1)("a cgroupsPath that already holds a process: a warning, and the container runs", async () => {
    const id = uid();
    const dir = join(V1, id);
    mkdirSync(dir);
    const sleeper = Bun.spawn(["sleep", "60"]);
    try {
      writeFileSync(join(dir, "cgroup.procs"), String(sleeper.pid));
      const b = await sb.bundle(id, ["true"], (c) => (c.linux.cgroupsPath = `/${id}`));
      const r = sb.run(["run", "-b", b, id]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("container's cgroup is not empty");
    } finally {
      sleeper.kill(9);
      await sleeper.exited;
      sb.run(["delete", "--force", id]);
      for (const h of ["memory", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "pids", "systemd", "unified"]) try { rmdirSync(`/sys/fs/cgroup/${h}/${id}`); } catch {}
    }
  });

  const noMemsw = isRoot && hybridV1 && skipping(!existsSync(join(V1, "memory.memsw.limit_in_bytes")), "update --memory -1 with a memory+swap limit",
    "no memory.memsw.limit_in_bytes: swap accounting is off (CONFIG_MEMCG_SWAP, swapaccount=0)");
  test.skipIf(!hybridV1 || noMemsw)("update --memory -1 while a memory+swap limit is set lifts both", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      sb.ok(["update", "--memory", "100M", "--memory-swap", "200M", id]);
      const r = sb.run(["update", "--memory", "-1", id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const state = JSON.parse(require("node:fs").readFileSync(join(sb.root, id, "state.json"), "utf8"));
      const read = (f: string) => require("node:fs").readFileSync(join(state.cgroupPaths.memory, f), "utf8").trim();
      expect(BigInt(read("memory.limit_in_bytes"))).toBeGreaterThan(1n << 60n);
      expect(BigInt(read("memory.memsw.limit_in_bytes"))).toBeGreaterThan(1n << 60n);
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  // runc's update.bats: a realtime period smaller than the runtime in place is refused by the
  // kernel until the runtime is lowered; with both given, the order that works is taken.
  const rt = existsSync("/sys/fs/cgroup/cpu/cpu.rt_runtime_us");
  const rtFree = rt && skipping(Number(require("node:fs").readFileSync("/sys/fs/cgroup/cpu/cpu.rt_runtime_us", "utf8")) < 600001, "update of the realtime period and runtime",
    "the root cpu cgroup has less than 600001 µs of realtime runtime to give");
  test.skipIf(!rt || !hybridV1 || rtFree)("update --cpu-rt-period/--cpu-rt-runtime to a period below the runtime in place", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"], (c) => (c.linux.cgroupsPath = `/${id}`));
    sb.ok(["run", "-d", "-b", b, id]);
    const read = (f: string) => require("node:fs").readFileSync(`/sys/fs/cgroup/cpu/${id}/${f}`, "utf8").trim();
    try {
      sb.ok(["update", "--cpu-rt-period", "900001", "--cpu-rt-runtime", "600001", id]);
      expect([read("cpu.rt_period_us"), read("cpu.rt_runtime_us")]).toEqual(["900001", "600001"]);
      const r = sb.run(["update", "--cpu-rt-period", "10000", "--cpu-rt-runtime", "3000", id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect([read("cpu.rt_period_us"), read("cpu.rt_runtime_us")]).toEqual(["10000", "3000"]);
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  // runc's update.bats: --cpu-burst and --cpu-idle, where the kernel has the files.
  const burst = existsSync("/sys/fs/cgroup/cpu/cpu.cfs_burst_us"), idle = existsSync("/sys/fs/cgroup/cpu/cpu.idle");
  test.skipIf(!hybridV1 || !burst || !idle)("update --cpu-burst and --cpu-idle", async () => {
    const id = uid();
    // shares too: the kernel refuses them for an idle group, and update writes the config's again.
    const b = await sb.bundle(id, ["sleep", "30"], (c) => (c.linux.resources = { cpu: { shares: 100, quota: 500000, period: 1000000 } }));
    sb.ok(["run", "-d", "-b", b, id]);
    const state = JSON.parse(require("node:fs").readFileSync(join(sb.root, id, "state.json"), "utf8"));
    const read = (f: string) => require("node:fs").readFileSync(join(state.cgroupPaths.cpu, f), "utf8").trim();
    try {
      sb.ok(["update", "--cpu-period", "900000", "--cpu-burst", "500000", id]);
      expect([read("cpu.cfs_period_us"), read("cpu.cfs_burst_us")]).toEqual(["900000", "500000"]);
      sb.ok(["update", "--cpu-burst", "0", id]);
      expect(read("cpu.cfs_burst_us")).toBe("0");
      sb.ok(["update", "--cpu-idle", "1", id]);
      expect(read("cpu.idle")).toBe("1");
      sb.ok(["update", "--cpu-idle", "0", id]);
      expect(read("cpu.idle")).toBe("0");
      sb.ok(["update", "--cpu-idle", "1", id]);
      expect(read("cpu.idle")).toBe("1");
      expect(sb.run(["update", "--cpu-idle", "2", id]).code).toBe(1); // the kernel takes 0 and 1 only
      expect(read("cpu.idle")).toBe("1");
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  test("linux.devices makes the node; resources.devices alone decides access", async () => {
    const b = await sb.bundle(uid(), ["sh", "-c", "ls /dev/kmsg && (echo x > /dev/kmsg) 2>&1; echo done"], (c) => {
      c.linux.devices = [{ path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }];
      c.linux.resources = { ...(c.linux.resources ?? {}), devices: [{ allow: false, access: "rwm" }] };
    });
    const r = sb.run(["run", "-b", b, uid()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("/dev/kmsg\n");
    expect(r.stdout).toContain("Operation not permitted");
  });
});

describe.skipIf(!isRoot)("ps in ps(1)'s formats (root)", () => {
  test("-ef by default, -x, aux and -o; an option bunc cannot answer is an error", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const header = (args: string[]) => sb.ok(["ps", id, ...args]).split("\n")[0]!.trim().split(/\s+/);
      expect(header([])).toEqual(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
      expect(header(["-ef"])).toEqual(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
      expect(header(["-x"])).toEqual(["PID", "TTY", "STAT", "TIME", "COMMAND"]);
      expect(header(["-e", "-x"])).toEqual(["PID", "TTY", "STAT", "TIME", "COMMAND"]);
      expect(header(["aux"])).toEqual(["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"]);
      expect(header(["-o", "pid,comm"])).toEqual(["PID", "COMMAND"]);
      const line = sb.ok(["ps", id]).split("\n")[1]!;
      expect(line).toMatch(/^root\s+\d+\s+\d+\s+\d+\s+\d\d:\d\d\s+\?\s+\d\d:\d\d:\d\d\s+sleep 30$/);
      const bad = sb.run(["ps", id, "-Z"]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('"-Z"');
      expect(JSON.parse(sb.ok(["ps", "--format", "json", id]))).toEqual([JSON.parse(sb.ok(["state", id])).pid]);
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });
});
