// Unit tests for the cgroups library: schema, layout detection, path resolution,
// conversions, the device program (run in a small eBPF interpreter), and the v2 writer
// against a fake cgroup2 tree in a tmpdir.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as v from "valibot";
import { CgroupManager, LinuxResourcesSchema, detectLayout, parseProcCgroup } from "../../src/linux/cgroups";
import { deviceProgram, encode } from "../../src/linux/cgroups/bpf";
import { v1Rule } from "../../src/linux/cgroups/devices";
import { blkioToIoWeight, sharesToWeight, swapToV2 } from "../../src/linux/cgroups/v2";
import type { DeviceRule } from "../../src/linux/cgroups";

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate`;
const V2 = `25 23 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot`;

describe("LinuxResourcesSchema", () => {
  test("accepts a full resources object", () => {
    const r = v.parse(LinuxResourcesSchema, {
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }],
      memory: { limit: 1 << 26, swap: -1, swappiness: 10 }, cpu: { shares: 512, quota: 5000, period: 10000, cpus: "0-1" },
      pids: { limit: 10 }, hugepageLimits: [{ pageSize: "2MB", limit: 0 }], unified: { "memory.high": "1G" },
      blockIO: { weight: 100, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] }, extra: 1,
    });
    expect(r.memory?.limit).toBe(1 << 26);
  });
  test("invalid values name the path", () => {
    const res = v.safeParse(LinuxResourcesSchema, { memory: { swappiness: 200 }, devices: [{ allow: true, type: "x" }], cpu: { cpus: "a" } });
    expect(res.success).toBe(false);
    const paths = res.issues!.map((i) => v.getDotPath(i));
    expect(paths).toContain("memory.swappiness");
    expect(paths).toContain("devices.0.type");
    expect(paths).toContain("cpu.cpus");
    expect(res.issues!.find((i) => v.getDotPath(i) === "devices.0.type")!.message).toContain('unknown device type "x"');
  });
});

describe("detectLayout", () => {
  test("hybrid: v1 hierarchies plus cgroup2, combined mounts kept once", () => {
    const l = detectLayout(HYBRID, () => ["hugetlb"]);
    expect(l.mode).toBe("hybrid");
    expect(l.hierarchies.map((h) => h.mountPoint)).toEqual([
      "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified",
    ]);
    expect(l.controllers.cpuacct!.mountPoint).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(l.controllers.hugetlb!.version).toBe(2);
    expect(l.controllers.memory!.version).toBe(1);
    expect(l.controllers["name=systemd"]!.controllers).toEqual(["name=systemd"]);
  });
  test("pure v2 and pure v1", () => {
    const v2 = detectLayout(V2, () => ["cpu", "memory", "pids"]);
    expect(v2.mode).toBe("v2");
    expect(v2.controllers.memory!.mountPoint).toBe("/sys/fs/cgroup");
    expect(detectLayout(HYBRID.split("\n").slice(0, 5).join("\n")).mode).toBe("v1");
    expect(() => detectLayout("")).toThrow(/no cgroup hierarchy/);
  });
  test("parseProcCgroup", () => {
    expect(parseProcCgroup("4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n")).toEqual({
      memory: "/a/b", cpu: "/", cpuacct: "/", "name=systemd": "/s", "": "/u",
    });
  });
});

describe("cgroupsPath resolution", () => {
  const layout = detectLayout(HYBRID, () => ["hugetlb"]);
  test("absolute path under every hierarchy", () => {
    const p = CgroupManager.forContainer("c1", "/x/y", { layout }).paths();
    expect(p.memory).toBe("/sys/fs/cgroup/memory/x/y");
    expect(p[""]).toBe("/sys/fs/cgroup/unified/x/y");
    expect(p["name=systemd"]).toBe("/sys/fs/cgroup/systemd/x/y");
  });
  test("relative path under the runtime's own cgroup", () => {
    const p = CgroupManager.forContainer("c1", "x", { layout, selfCgroup: "4:memory:/api/7\n0::/u\n3:cpu,cpuacct:/\n2:cpuset:/\n" }).paths();
    expect(p.memory).toBe("/sys/fs/cgroup/memory/api/7/x");
    expect(p[""]).toBe("/sys/fs/cgroup/unified/u/x");
    expect(p.cpu).toBe("/sys/fs/cgroup/cpu,cpuacct/x");
    expect(p.cpuset).toBe("/sys/fs/cgroup/cpuset/x");
  });
  test("default is /bunc/<id>; .. is refused", () => {
    expect(CgroupManager.forContainer("c9", undefined, { layout }).paths().memory).toBe("/sys/fs/cgroup/memory/bunc/c9");
    expect(() => CgroupManager.forContainer("c9", "/a/../b", { layout })).toThrow(/must not contain/);
  });
});

describe("conversions", () => {
  test("cpu shares -> weight, blkio weight -> io.weight, swap", () => {
    expect([2, 1024, 262144].map(sharesToWeight)).toEqual([1, 39, 10000]);
    expect([10, 500, 1000].map(blkioToIoWeight)).toEqual([1, 4950, 10000]);
    expect(swapToV2(200, 100)).toBe(100);
    expect(swapToV2(-1, 100)).toBe(-1);
    expect(swapToV2(0, -1)).toBe(-1);
    expect(() => swapToV2(50, 100)).toThrow(/below the memory limit/);
    expect(() => swapToV2(50, 0)).toThrow(/without a memory limit/);
  });
  test("v1 device rule strings", () => {
    expect(v1Rule({ allow: true, type: "c", major: 1, minor: 3, access: "rw" })).toBe("c 1:3 rw");
    expect(v1Rule({ allow: true, type: "c", major: 136, minor: -1 })).toBe("c 136:* rwm");
    expect(v1Rule({ allow: false })).toBe("a *:* rwm");
    expect(() => v1Rule({ allow: true, type: "p" }, 4)).toThrow(/devices\[4\]\.type/);
  });
});

// A tiny interpreter for the instructions deviceProgram emits: checks the rule semantics without a kernel.
function run(rules: DeviceRule[], type: "b" | "c", major: number, minor: number, access: string): boolean {
  const bytes = encode(deviceProgram(rules));
  const dv = new DataView(bytes.buffer);
  const acc = [...access].reduce((m, ch) => m | ({ m: 1, r: 2, w: 4 } as any)[ch], 0);
  const ctx = [(acc << 16) | (type === "b" ? 1 : 2), major, minor];
  const r = new Array(11).fill(0);
  for (let pc = 0; ; pc++) {
    const op = dv.getUint8(pc * 8), regs = dv.getUint8(pc * 8 + 1), off = dv.getInt16(pc * 8 + 2, true), imm = dv.getInt32(pc * 8 + 4, true);
    const dst = regs & 15, src = regs >> 4;
    switch (op) {
      case 0x61: r[dst] = ctx[off / 4]; break;
      case 0x54: r[dst] = (r[dst] & imm) >>> 0; break;
      case 0x74: r[dst] = r[dst] >>> imm; break;
      case 0xb4: r[dst] = imm >>> 0; break;
      case 0xbc: r[dst] = r[src]; break;
      case 0x15: if (r[dst] === imm) pc += off; break;
      case 0x55: if (r[dst] !== (imm >>> 0)) pc += off; break;
      case 0x95: return r[0] === 1;
      default: throw new Error(`opcode ${op}`);
    }
  }
}

describe("v2 device program", () => {
  const base: DeviceRule[] = [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }];
  test("default deny, explicit allow", () => {
    expect(run(base, "c", 1, 3, "rw")).toBe(true);
    expect(run(base, "c", 1, 5, "r")).toBe(false);
    expect(run(base, "b", 1, 3, "r")).toBe(false);
    expect(run([], "c", 1, 3, "r")).toBe(false);
  });
  test("later rules win per access bit, as on v1", () => {
    const rules: DeviceRule[] = [...base, { allow: false, type: "c", major: 1, minor: 3, access: "w" }];
    expect(run(rules, "c", 1, 3, "r")).toBe(true);
    expect(run(rules, "c", 1, 3, "rw")).toBe(false);
    expect(run(rules, "c", 1, 3, "w")).toBe(false);
  });
  test("wildcards and split allows", () => {
    const rules: DeviceRule[] = [{ allow: false }, { allow: true, type: "c", major: 136, minor: -1, access: "r" }, { allow: true, type: "c", major: -1, minor: -1, access: "w" }];
    expect(run(rules, "c", 136, 7, "rw")).toBe(true);
    expect(run(rules, "c", 4, 7, "rw")).toBe(false);
    expect(run(rules, "c", 4, 7, "w")).toBe(true);
    expect(run([{ allow: true }], "b", 8, 0, "rwm")).toBe(true);
  });
});

describe("v2 writer on a fake cgroup2 tree", () => {
  let root = "";
  afterEach(() => root && rmSync(root, { recursive: true, force: true }));

  // What the kernel would show in a new cgroup with these controllers enabled.
  const FILES: Record<string, string[]> = {
    memory: ["memory.max", "memory.low", "memory.swap.max", "memory.current", "memory.stat", "memory.events"],
    cpu: ["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpu.stat"], cpuset: ["cpuset.cpus", "cpuset.mems"],
    pids: ["pids.max", "pids.current"], io: ["io.weight", "io.max", "io.stat"], hugetlb: ["hugetlb.2MB.max", "hugetlb.2MB.current", "hugetlb.2MB.events"],
  };
  function fake(controllers: string[]) {
    root = mkdtempSync(`${tmpdir()}/bunc-test-cg2-`);
    writeFileSync(`${root}/cgroup.controllers`, controllers.join(" ") + "\n");
    writeFileSync(`${root}/cgroup.subtree_control`, "");
    const warnings: string[] = [];
    const m = CgroupManager.forContainer("c1", "/bunc-test/c1", { root, warn: (w) => warnings.push(w) });
    expect(m.create()).toBe(true);
    const dir = m.paths()[""]!;
    for (const c of controllers) for (const f of FILES[c] ?? []) writeFileSync(`${dir}/${f}`, "");
    for (const f of ["cgroup.procs", "cgroup.freeze", "cgroup.events"]) writeFileSync(`${dir}/${f}`, "");
    return { m, dir, warnings, read: (f: string) => readFileSync(`${dir}/${f}`, "utf8") };
  }

  test("create enables controllers along the path", () => {
    const { dir } = fake(["memory", "pids"]);
    expect(existsSync(dir)).toBe(true);
    expect(readFileSync(`${root}/cgroup.subtree_control`, "utf8")).toMatch(/^\+(memory|pids)$/); // last write wins in a plain file
  });

  test("limits land in the v2 files with runc's conversions", () => {
    const { m, read, warnings } = fake(["memory", "cpu", "cpuset", "pids", "io", "hugetlb"]);
    expect(m.apply({
      memory: { limit: 100 << 20, swap: 150 << 20, reservation: 50 << 20, swappiness: 5, kernel: 1 },
      cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 0, cpus: "0", mems: "0" },
      pids: { limit: 42 }, blockIO: { weight: 500, throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 77 }] },
      hugepageLimits: [{ pageSize: "2MB", limit: 2 << 20 }], unified: { "memory.low": "123" },
    })).toBe(true);
    expect(read("memory.max")).toBe(String(100 << 20));
    expect(read("memory.swap.max")).toBe(String(50 << 20));
    expect(read("memory.low")).toBe("123"); // the unified map is applied last
    expect(read("cpu.weight")).toBe("39");
    expect(read("cpu.max")).toBe("50000 100000");
    expect(read("cpu.max.burst")).toBe("1000");
    expect(read("cpuset.cpus")).toBe("0");
    expect(read("pids.max")).toBe("42");
    expect(read("io.weight")).toBe("4950");
    expect(read("io.max")).toBe("8:0 wiops=77");
    expect(read("hugetlb.2MB.max")).toBe(String(2 << 20));
    expect(warnings.join("\n")).toMatch(/memory.swappiness: not supported on cgroup v2/);
    expect(warnings.join("\n")).toMatch(/memory.kernel: .*ignored/);
  });

  test("unlimited values and quota without period", () => {
    const { m, read } = fake(["memory", "cpu", "pids"]);
    m.apply({ memory: { limit: -1 }, cpu: { quota: -1, period: 20000 }, pids: { limit: -1 } });
    expect(read("memory.max")).toBe("max");
    expect(read("memory.swap.max")).toBe("max");
    expect(read("cpu.max")).toBe("max 20000");
    expect(read("pids.max")).toBe("max");
  });

  test("settings the host cannot apply are errors naming the setting", () => {
    const { m } = fake(["memory"]);
    expect(() => m.apply({ pids: { limit: 3 } })).toThrow("linux.resources.pids: the pids cgroup controller is not available on this host");
    expect(() => m.apply({ network: { classID: 1 } })).toThrow(/linux.resources.network.classID: the net_cls cgroup controller is not available/);
    expect(() => m.apply({ unified: { "cpu.weight": "5" } })).toThrow(/unified\["cpu.weight"\]: controller "cpu" not available/);
    expect(() => m.apply({ unified: { "memory.high": "5" } })).toThrow('linux.resources.unified["memory.high"]: memory.high not available');
    expect(() => m.apply({ cpu: { realtimeRuntime: 5 } })).toThrow(/linux.resources.cpu: the cpu cgroup controller is not available/);
    rmSync(`${m.paths()[""]}/memory.swap.max`);
    expect(() => m.apply({ memory: { limit: 10 << 20, swap: 20 << 20 } })).toThrow(/memory.swap: memory.swap.max not available/);
  });

  test("stats read the v2 files", () => {
    const { m, dir } = fake(["memory", "cpu", "pids", "io", "hugetlb"]);
    writeFileSync(`${dir}/memory.current`, "4096\n");
    writeFileSync(`${dir}/memory.max`, "max\n");
    writeFileSync(`${dir}/memory.stat`, "anon 10\nfile 20\n");
    writeFileSync(`${dir}/cpu.stat`, "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 1\nnr_throttled 0\nthrottled_usec 0\n");
    writeFileSync(`${dir}/pids.current`, "3\n");
    writeFileSync(`${dir}/pids.max`, "10\n");
    writeFileSync(`${dir}/io.stat`, "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n");
    writeFileSync(`${dir}/hugetlb.2MB.current`, "0\n");
    writeFileSync(`${dir}/hugetlb.2MB.events`, "max 2\n");
    const s = m.stats();
    expect(s.memory.usage).toEqual({ limit: 0, usage: 4096, max: undefined, failcnt: 0 });
    expect(s.memory.cache).toBe(20);
    expect(s.cpu.usage).toEqual({ total: 5000, user: 3000, kernel: 2000 });
    expect(s.pids).toEqual({ current: 3, limit: 10 });
    expect(s.blkio.ioServiceBytesRecursive).toContainEqual({ major: 8, minor: 0, op: "Write", value: 2 });
    expect(s.hugetlb["2MB"]).toEqual({ usage: 0, failcnt: 2 });
  });

  test("an existing leaf with processes is a warning (as runc), none when joining", () => {
    const { m, dir } = fake(["memory"]);
    writeFileSync(`${dir}/cgroup.procs`, "1\n");
    const warned: string[] = [];
    const again = CgroupManager.forContainer("c1", "/bunc-test/c1", { root, warn: (w) => warned.push(w) });
    expect(again.create()).toBe(true);
    expect(warned).toEqual([expect.stringContaining("container's cgroup is not empty: 1 process(es)")]);
    expect(again.create({ join: true })).toBe(true);
    expect(m.pids()).toEqual([1]);
  });
});

describe("cpuList (cpuset.cpus and cpuset.mems as runc's stats give them)", () => {
  test("ranges and single numbers; empty is none", () => {
    const { cpuList } = require("../../src/linux/cgroups/stats") as typeof import("../../src/linux/cgroups/stats");
    expect(cpuList("0-3,5\n")).toEqual([0, 1, 2, 3, 5]);
    expect(cpuList("7")).toEqual([7]);
    expect(cpuList("0,2-3,8-9")).toEqual([0, 2, 3, 8, 9]);
    expect(cpuList("\n")).toBeUndefined();
    expect(cpuList(undefined)).toBeUndefined();
  });
});
