// The cgroups library on this host's real hierarchies. On a hybrid host (v1 controllers
// plus /sys/fs/cgroup/unified) the v1 writers and enforcement run on v1, and membership,
// hugetlb, freeze, kill and device programs run on the real cgroup2 mount. Every cgroup
// is named bunc-test-<run>-* and removed in afterEach; only processes spawned here are killed.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, rmdirSync } from "node:fs";
import { CgroupManager, detectLayout, type CgroupLayout } from "../../src/linux/cgroups";
import { _test as bpfTest } from "../../src/linux/cgroups/bpf";
import { openSync, closeSync } from "node:fs";
import { until } from "../support/harness";
import { blkioWeightFile, blockDevice, skipping } from "../support/host";

const RUN = `bunc-test-${process.pid}-${Date.now().toString(36)}`;
const isRoot = process.geteuid?.() === 0;
const host = detectLayout();
const hybridOrV1 = isRoot && host.mode !== "v2";
// Only the cgroup2 mount, seen as a pure v2 host: proves the v2 paths on a real kernel.
const unifiedOnly: CgroupLayout | undefined = host.unified
  ? detectLayout(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => / - cgroup2 /.test(l)).join("\n"))
  : undefined;

const managers: CgroupManager[] = [];
const children: { pid: number; killed: boolean }[] = [];
let n = 0;

function manager(opts: { layout?: CgroupLayout; warn?: (m: string) => void } = {}, path = `/${RUN}-${++n}`) {
  const m = CgroupManager.forContainer("t", path, { warn: () => {}, ...opts });
  managers.push(m);
  return m;
}

/** A shell that waits for a line on stdin before exec'ing `cmd`, so it can be placed in the cgroup first. */
function gated(cmd: string) {
  const p = Bun.spawn(["sh", "-c", `read go; ${cmd}`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  children.push({ pid: p.pid, killed: false });
  return {
    p,
    go() {
      p.stdin.write("go\n");
      p.stdin.end();
    },
  };
}

afterEach(() => {
  for (const c of children.splice(0)) try { process.kill(c.pid, 9); } catch {}
  for (const m of managers.splice(0)) {
    try {
      if (!m.skipped) m.killAll(9); // children of spawned shells too
      m.destroy();
    } catch (e) {
      console.error(`cleanup: ${e}`);
    }
  }
  // Belt and braces: anything of this run left in any hierarchy.
  for (const h of host.hierarchies) {
    for (const e of readdirSync(h.mountPoint)) if (e.startsWith(RUN)) try { rmdirSync(`${h.mountPoint}/${e}`); } catch {}
  }
});

const read = (dir: string, f: string) => readFileSync(`${dir}/${f}`, "utf8").trim();

describe.if(hybridOrV1)("v1 hierarchies (real)", () => {
  test("create makes the cgroup in every hierarchy, destroy removes it", () => {
    const m = manager();
    expect(m.create()).toBe(true);
    const paths = m.paths();
    expect(Object.keys(paths)).toContain("memory");
    if (host.unified) expect(paths[""]).toStartWith(host.unified.mountPoint);
    for (const dir of Object.values(paths)) expect(existsSync(dir)).toBe(true);
    // A new v1 cpuset cgroup got its parent's CPUs and nodes, or no task could join.
    if (paths.cpuset) expect(read(paths.cpuset, "cpuset.cpus")).not.toBe("");
    m.destroy();
    for (const dir of Object.values(paths)) expect(existsSync(dir)).toBe(false);
  });

  test("memory, cpu, cpuset, pids, blkio and devices are written and read back", () => {
    const m = manager();
    m.create();
    const p = m.paths();
    const warnings: string[] = [];
    const mw = CgroupManager.fromPaths(p, { warn: (w) => warnings.push(w) });
    // What this host offers is read back; what it lacks must be an error naming the setting.
    const memsw = !skipping(!existsSync(`${p.memory}/memory.memsw.limit_in_bytes`), "reading back linux.resources.memory.swap (v1)",
      "no memory.memsw.limit_in_bytes: swap accounting is off (CONFIG_MEMCG_SWAP, swapaccount=0)");
    mw.apply({
      memory: { limit: 64 << 20, ...(memsw && { swap: 96 << 20 }), reservation: 32 << 20, swappiness: 10, kernel: 1 << 20 },
      cpu: { shares: 512, quota: 20000, period: 50000, cpus: "0", mems: "0" },
      pids: { limit: 17 },
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, { allow: true, type: "c", major: 136, minor: -1, access: "rw" }],
    });
    expect(read(p.memory!, "memory.limit_in_bytes")).toBe(String(64 << 20));
    if (memsw) expect(read(p.memory!, "memory.memsw.limit_in_bytes")).toBe(String(96 << 20));
    expect(read(p.memory!, "memory.soft_limit_in_bytes")).toBe(String(32 << 20));
    expect(read(p.memory!, "memory.swappiness")).toBe("10");
    expect(warnings.join()).toContain("linux.resources.memory.kernel: kernel memory limits are deprecated and ignored");
    expect(read(p.cpu!, "cpu.shares")).toBe("512");
    expect(read(p.cpu!, "cpu.cfs_quota_us")).toBe("20000");
    expect(read(p.cpu!, "cpu.cfs_period_us")).toBe("50000");
    expect(read(p.cpuset!, "cpuset.cpus")).toBe("0");
    expect(read(p.pids!, "pids.max")).toBe("17");
    expect(read(p.devices!, "devices.list").split("\n")).toEqual(["c 1:3 rwm", "c 136:* rw"]);

    // blkio, one setting at a time: the weight needs an I/O scheduler with weights (BFQ),
    // throttling CONFIG_BLK_DEV_THROTTLING, and both a blkio controller and a disk.
    const disk = blockDevice();
    if (!skipping(!p.blkio || !disk, "linux.resources.blockIO", !p.blkio ? "no blkio cgroup controller" : "no disk in /sys/block")) {
      const weightFile = blkioWeightFile(p.blkio!);
      const weight = () => mw.apply({ blockIO: { weight: 300 } });
      if (!skipping(!weightFile, "reading back linux.resources.blockIO.weight",
        "no blkio.weight or blkio.bfq.weight: the disks' I/O scheduler (none, mq-deadline, kyber) has no weights, BFQ has")) {
        weight();
        expect(read(p.blkio!, weightFile!)).toMatch(/\b300\b/);
      } else expect(weight).toThrow("linux.resources.blockIO.weight: blkio.weight not available");
      const bps = () => mw.apply({ blockIO: { throttleReadBpsDevice: [{ major: disk![0], minor: disk![1], rate: 1048576 }] } });
      if (!skipping(!existsSync(`${p.blkio}/blkio.throttle.read_bps_device`), "reading back linux.resources.blockIO.throttleReadBpsDevice",
        "no blkio.throttle.*: CONFIG_BLK_DEV_THROTTLING is off")) {
        bps();
        expect(read(p.blkio!, "blkio.throttle.read_bps_device")).toBe(`${disk!.join(":")} 1048576`);
      } else expect(bps).toThrow("linux.resources.blockIO.throttleReadBpsDevice[0]: blkio.throttle.read_bps_device not available");
    }

    // Shrinking memory below the old memsw works because the order adapts.
    const shrink = () => mw.apply({ memory: { limit: 16 << 20, swap: 16 << 20 } });
    if (memsw) {
      shrink();
      expect(read(p.memory!, "memory.memsw.limit_in_bytes")).toBe(String(16 << 20));
    } else expect(shrink).toThrow("linux.resources.memory.swap: memory.memsw.limit_in_bytes not available");
    mw.apply({ memory: { limit: -1 } });
    expect(Number(read(p.memory!, "memory.limit_in_bytes"))).toBeGreaterThan(1 << 40);
  });

  test("a setting this host lacks is an error naming it", () => {
    const m = manager();
    m.create();
    // net_cls and hugetlb are there or not, by kernel config: either way the answer is checked.
    if (!host.controllers.net_cls) expect(() => m.apply({ network: { classID: 0x100001 } })).toThrow(/^linux.resources.network.classID: the net_cls cgroup controller is not available/);
    else {
      m.apply({ network: { classID: 0x100001 } });
      expect(read(m.paths().net_cls!, "net_cls.classid")).toBe(String(0x100001));
    }
    const hugetlb3MB = () => m.apply({ hugepageLimits: [{ pageSize: "3MB", limit: 0 }] });
    if (!host.controllers.hugetlb) expect(hugetlb3MB).toThrow(/^linux.resources.hugepageLimits: the hugetlb cgroup controller is not available/);
    else expect(hugetlb3MB).toThrow("linux.resources.hugepageLimits[0]: hugetlb.3MB.");
    expect(() => m.apply({ cpu: { shares: 1 << 30 } })).toThrow(/linux.resources.cpu.shares: the kernel clamped/);
  });

  test("a memory-limited process is OOM-killed", async () => {
    const m = manager();
    m.create();
    // Without swap accounting there is no memory+swap limit: swappiness 0 keeps the cgroup out of swap.
    const memsw = existsSync(`${m.paths().memory}/memory.memsw.limit_in_bytes`);
    m.apply({ memory: { limit: 20 << 20, ...(memsw ? { swap: 20 << 20 } : { swappiness: 0 }) } });
    const { p, go } = gated(`exec /usr/bin/python3 -c 'b = b"x" * (100 << 20); print("survived")'`);
    m.addProcess(p.pid);
    go();
    await p.exited;
    expect(p.signalCode).toBe("SIGKILL");
    expect(await new Response(p.stdout).text()).toBe("");
    const mem = m.paths().memory!;
    expect(read(mem, "memory.oom_control")).toMatch(/oom_kill [1-9]/);
    // (memory.failcnt stays 0 on this kernel; the peak shows the limit was reached.)
    expect(m.stats().memory.usage.max).toBe(20 << 20);
  });

  test("a pids-limited cgroup cannot fork past its limit", async () => {
    const m = manager();
    m.create();
    m.apply({ pids: { limit: 4 } });
    const { p, go } = gated(`for i in 1 2 3 4 5 6 7 8; do sleep 3 & done; echo started; wait`);
    m.addProcess(p.pid);
    go();
    // The shell plus 3 sleeps fit; the 4th fork fails (dash then gives up and exits).
    const ps = () => m.pids().filter((x) => x !== p.pid);
    await until(() => ps().length >= 3 && !m.pids().includes(p.pid), "3 sleeps and the shell's exit");
    expect(ps().length).toBe(3);
    // pids.current counts the shell until it is reaped, not only until it has left cgroup.procs.
    await p.exited;
    expect(m.stats().pids).toEqual({ current: 3, limit: 4 });
    m.killAll(9);
    expect(await new Response(p.stderr).text()).toMatch(/Cannot fork|Resource temporarily unavailable/i);
  });

  /** A new cgroup holding a shell and its two sleeps (started only once it is in there). */
  async function threeSleepersInACgroup() {
    const m = manager();
    m.create();
    const { p, go } = gated(`sleep 30 & sleep 30 & wait`);
    m.addProcess(p.pid);
    go();
    await until(() => m.pids().length >= 3, "the shell and its two sleeps");
    return { m, p };
  }

  test("freeze/thaw with the v1 freezer, killAll(SIGTERM) signals every process, stats, destroy after kill -9", async () => {
    const { m, p } = await threeSleepersInACgroup();
    expect(m.pids().length).toBe(3);
    m.freeze();
    expect(m.isFrozen()).toBe(true);
    if (host.controllers.freezer?.version === 1) expect(read(m.paths().freezer!, "freezer.state")).toBe("FROZEN");
    m.thaw();
    expect(m.isFrozen()).toBe(false);
    const s = m.stats();
    expect(s.memory.usage.usage).toBeGreaterThan(0);
    expect(s.pids.current).toBe(3);
    expect(s.cpu.usage.total).toBeGreaterThan(0);
    m.killAll(15);
    await p.exited;
    await until(() => m.pids().length === 0, "the cgroup to empty");
    expect(m.pids()).toEqual([]);
    m.destroy();
    for (const dir of Object.values(m.paths())) expect(existsSync(dir)).toBe(false);
  });

  test("destroy right after SIGKILL waits for the exiting processes", async () => {
    const { m, p } = await threeSleepersInACgroup();
    m.killAll(9);
    m.destroy();
    for (const dir of Object.values(m.paths())) expect(existsSync(dir)).toBe(false);
    await p.exited;
  });

  test("pure v1 view (no cgroup2): killAll(SIGKILL) freezes and signals each process, then destroy", async () => {
    const v1Only = detectLayout(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => !/ - cgroup2 /.test(l)).join("\n"));
    expect(v1Only.mode).toBe("v1");
    const m = manager({ layout: v1Only });
    m.create();
    const { p, go } = gated(`sleep 30 & sleep 30 & wait`);
    m.addProcess(p.pid);
    go();
    await until(() => m.pids().length >= 3, "the shell and its two sleeps");
    expect(m.pids().length).toBe(3);
    m.killAll(9);
    expect(m.isFrozen()).toBe(false);
    m.destroy();
    for (const dir of Object.values(m.paths())) expect(existsSync(dir)).toBe(false);
    await p.exited;
    expect(p.signalCode).toBe("SIGKILL");
  });

  test("an existing cgroup with processes is a warning, as runc; relative paths sit under our own cgroup", async () => {
    const m = manager();
    m.create();
    const { p } = gated("true");
    m.addProcess(p.pid);
    const warned: string[] = [];
    expect(CgroupManager.forContainer("t", `/${RUN}-${n}`, { warn: (w) => warned.push(w) }).create()).toBe(true);
    expect(warned.length).toBeGreaterThan(0);
    expect(warned[0]).toMatch(/container's cgroup is not empty/);
    const rel = manager({}, `${RUN}-rel`);
    const own = readFileSync("/proc/self/cgroup", "utf8").match(/^\d+:memory:(.*)$/m)?.[1] ?? "/";
    expect(rel.paths().memory).toBe(`${host.controllers.memory!.mountPoint}${own === "/" ? "" : own}/${RUN}-rel`);
    expect(rel.create()).toBe(true);
    rel.destroy();
    expect(existsSync(rel.paths().memory!)).toBe(false);
  });

  test("rootless: create and apply are skipped, with a warning only because resources were asked for", () => {
    const script = `import("${import.meta.dir}/../../src/linux/cgroups/index.ts").then(({ CgroupManager }) => {
      const w = []; const m = CgroupManager.forContainer("r", "/${RUN}-rootless", { warn: (x) => w.push(x) });
      console.log(JSON.stringify({ c: m.create(), a: m.apply({ memory: { limit: 1e7 } }), w }));
    })`;
    const r = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "-e", script]);
    const out = JSON.parse(r.stdout.toString());
    expect(out.c).toBe(false);
    expect(out.a).toBe(false);
    expect(out.w).toHaveLength(1);
    expect(out.w[0]).toMatch(/linux.resources ignored \(no write access to the cgroup tree\)/);
  });
});

describe.if(isRoot && !!unifiedOnly)("cgroup2 mount (real)", () => {
  const v2 = () => manager({ layout: unifiedOnly });

  function canOpen(m: CgroupManager, path: string) {
    const { p, go } = gated(`head -c1 ${path} >/dev/zero 2>&1 && echo ok || echo denied`);
    m.addProcess(p.pid);
    go();
    return p.exited.then(async () => (await new Response(p.stdout).text()).trim());
  }

  test("membership, hugetlb limit, freeze and cgroup.kill", async () => {
    const m = v2();
    m.create();
    const dir = m.paths()[""]!;
    if (!skipping(!unifiedOnly!.unified!.controllers.includes("hugetlb"), "a hugetlb limit on cgroup2", "no hugetlb controller on the cgroup2 mount")) {
      const size = readdirSync(dir).find((f) => /^hugetlb\.\w+\.max$/.test(f))!.split(".")[1]!;
      m.apply({ hugepageLimits: [{ pageSize: size, limit: 0 }] });
      expect(read(dir, `hugetlb.${size}.max`)).toBe("0");
      expect(m.stats().hugetlb[size]).toEqual({ usage: 0, failcnt: 0 });
    }
    const { p, go } = gated("sleep 30");
    m.addProcess(p.pid);
    expect(m.pids()).toEqual([p.pid]);
    expect(readFileSync(`/proc/${p.pid}/cgroup`, "utf8")).toContain(`0::/${dir.slice(unifiedOnly!.unified!.mountPoint.length + 1)}`);
    m.freeze();
    expect(read(dir, "cgroup.events")).toContain("frozen 1");
    expect(m.isFrozen()).toBe(true);
    m.thaw();
    expect(m.isFrozen()).toBe(false);
    go();
    m.killAll(9); // cgroup.kill
    await p.exited;
    expect(p.signalCode).toBe("SIGKILL");
  });

  test("an eBPF device program denies what the rules do not allow, and is replaced on update", async () => {
    const m = v2();
    m.create();
    const dir = m.paths()[""]!;
    m.apply({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }] });
    expect(await canOpen(m, "/dev/zero")).toBe("ok");
    expect(await canOpen(m, "/dev/null")).toBe("denied");
    // Update: allow /dev/null; the old program is detached, not stacked.
    m.apply({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "r" }, { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }] });
    expect(await canOpen(m, "/dev/null")).toBe("ok");
    const fd = openSync(dir, "r");
    try {
      expect(bpfTest.attachedPrograms(fd).length).toBe(1);
    } finally {
      closeSync(fd);
    }
  });
});
