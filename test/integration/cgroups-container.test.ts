// Cgroups through the lifecycle (root): limits read back from the host, enforcement,
// pause/resume, update, events, ps, kill --all, and no cgroup left after delete.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { isRoot, pidAlive, fileSandbox, until, waitFor } from "../support/harness";
import { skipping } from "../support/host";
import { cpuList } from "../../src/linux/cgroups/stats";

const sb = fileSandbox();
const hierarchies = () => readdirSync("/sys/fs/cgroup").map((d) => join("/sys/fs/cgroup", d)).filter((d) => existsSync(join(d, "cgroup.procs")));
const leftovers = (name: string) => hierarchies().flatMap((h) => [join(h, "bunc", name), join(h, name)]).filter(existsSync);

const v1 = existsSync("/sys/fs/cgroup/memory/cgroup.procs");
// No swap for a cgroup: memory+swap equal to memory with swap accounting; without it (no memsw
// files) swappiness 0.
const noSwap = existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") ? { swap: 16 * 1024 * 1024 } : { swappiness: 0 };

describe.skipIf(!isRoot || !v1)("cgroups in the lifecycle (root, cgroup v1 controllers)", () => {
  test("limits are written before the program runs and removed with the container", async () => {
    const b = await sb.bundle("lim", ["sleep", "30"], (c) => {
      c.linux.resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 33 }, cpu: { shares: 512, quota: 50000, period: 100000 } };
    });
    sb.ok(["run", "-d", "-b", b, "lim"]);
    const state = JSON.parse(readFileSync(join(sb.root, "lim/state.json"), "utf8"));
    const mem = state.cgroupPaths.memory, pids = state.cgroupPaths.pids, cpu = state.cgroupPaths.cpu;
    expect(readFileSync(join(mem, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(pids, "pids.max"), "utf8").trim()).toBe("33");
    expect(readFileSync(join(cpu, "cpu.shares"), "utf8").trim()).toBe("512");
    expect(readFileSync(join(cpu, "cpu.cfs_quota_us"), "utf8").trim()).toBe("50000");
    const pid = state.pid;
    // start returns once the init got the go; it joins its last cgroups right before execve.
    waitFor(() => readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep"), "the init to exec sleep");
    for (const dir of new Set(Object.values(state.cgroupPaths) as string[]))
      expect(readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")).toContain(String(pid));
    // update (runc's flags), ps and events
    sb.ok(["update", "--memory", "96m", "--pids-limit", "40", "lim"]);
    expect(readFileSync(join(mem, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(96 * 1024 * 1024));
    expect(readFileSync(join(pids, "pids.max"), "utf8").trim()).toBe("40");
    sb.ok(["exec", "-d", "lim", "sleep", "20"]);
    const ps = JSON.parse(sb.ok(["ps", "--format", "json", "lim"]));
    expect(ps).toContain(pid);
    expect(ps.length).toBe(2);
    expect(sb.ok(["ps", "lim"])).toContain("sleep 20");
    // ps args as runc passes them to ps(1); bunc reads /proc itself.
    const cols = sb.ok(["ps", "lim", "-o", "pid,comm"]).trim().split("\n");
    expect(cols[0]).toMatch(/^PID\s+COMMAND$/);
    expect(cols.slice(1).map((l) => Number(l.split(/\s+/)[0])).sort()).toEqual([...ps].sort());
    expect(sb.run(["ps", "lim", "--bogus-ps-flag"]).code).toBe(1);
    const ev = JSON.parse(sb.ok(["events", "--stats", "lim"]));
    expect(ev).toMatchObject({ type: "stats", id: "lim" });
    expect(ev.data.memory.usage.limit).toBe(96 * 1024 * 1024);
    expect(ev.data.pids.current).toBe(2);
    // the keys of runc 1.3's stats, cpuset's from the v1 cpuset files (runc has none on cgroup2)
    expect(Object.keys(ev.data).sort()).toEqual(["blkio", "cpu", "cpuset", "hugetlb", "intel_rdt", "memory", "network_interfaces", "pids"]);
    if (state.cgroupPaths.cpuset) {
      const cpus = readFileSync(join(state.cgroupPaths.cpuset, "cpuset.cpus"), "utf8").trim();
      expect(ev.data.cpuset.cpus).toEqual(cpuList(cpus));
      expect(ev.data.cpuset.cpus.length).toBeGreaterThan(0);
    }
    // pause / resume
    sb.ok(["pause", "lim"]);
    expect(JSON.parse(sb.ok(["state", "lim"])).status).toBe("paused");
    expect(readFileSync(join(state.cgroupPaths.freezer, "freezer.state"), "utf8").trim()).toBe("FROZEN");
    expect(sb.run(["exec", "lim", "true"]).code).toBe(255); // runc: exec into a paused container
    sb.ok(["resume", "lim"]);
    expect(JSON.parse(sb.ok(["state", "lim"])).status).toBe("running");
    // kill --all reaches the exec'd process too
    sb.ok(["kill", "--all", "lim", "KILL"]);
    try { waitFor(() => !ps.some(pidAlive), "the container's processes to die"); } catch {} // the survivors are reported below
    for (const p of ps.filter(pidAlive)) console.error("survivor", p, require("node:fs").readFileSync(`/proc/${p}/cgroup`, "utf8"), require("node:fs").readFileSync(`/proc/${p}/status`, "utf8").split("\n").filter((l: string) => /State|PPid|Threads/.test(l)), require("node:fs").readFileSync(`/proc/${p}/cmdline`, "utf8"));
    expect(ps.filter(pidAlive)).toEqual([]);
    sb.ok(["delete", "lim"]);
    expect(leftovers("lim")).toEqual([]);
  });

  test("a container with a 6 MiB memory limit runs; one allocating past its limit is OOM-killed", async () => {
    const small = await sb.bundle("six", ["true"], (c) => (c.linux.resources = { memory: { limit: 6 * 1024 * 1024 } }));
    expect(sb.run(["run", "-b", small, "six"]).code).toBe(0);
    const hog = await sb.bundle("hog", ["sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"], (c) => {
      c.linux.resources = { memory: { limit: 16 * 1024 * 1024, ...noSwap } };
    });
    const r = sb.run(["run", "-b", hog, "hog"]);
    expect(r.stdout).not.toContain("survived");
    expect(r.code).toBe(137);
    expect(leftovers("six").concat(leftovers("hog"))).toEqual([]);
  });

  test("a pids-limited container cannot fork past its limit", async () => {
    const b = await sb.bundle("forky", ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait; echo done"], (c) => (c.linux.resources = { pids: { limit: 4 } }));
    const r = sb.run(["run", "-b", b, "forky"]);
    expect(r.stderr + r.stdout).toMatch(/can't fork|Resource temporarily unavailable|Cannot fork/i);
    expect(leftovers("forky")).toEqual([]);
  });

  test("cgroupsPath absolute; the cgroup namespace shows the container's cgroup as its root", async () => {
    const b = await sb.bundle("cgns", ["sh", "-c", "cat /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max"], (c) => {
      c.linux.cgroupsPath = "/bunc-test-abs/cgns";
      c.linux.resources = { pids: { limit: 77 } };
    });
    const r = sb.run(["run", "-b", b, "cgns"]);
    expect(r.code).toBe(0);
    for (const line of r.stdout.trim().split("\n").slice(0, -1)) expect(line).toMatch(/:\/$/);
    expect(r.stdout.trim().split("\n").pop()).toBe("77");
    expect(hierarchies().map((h) => join(h, "bunc-test-abs/cgns")).filter(existsSync)).toEqual([]);
    for (const h of hierarchies()) try { require("node:fs").rmdirSync(join(h, "bunc-test-abs")); } catch {}
  });

  test("kill --all of a stopped container reaches what its init left in its cgroup (no PID namespace), as runc", async () => {
    // containerd's shim does this after the init of a container without its own PID
    // namespace (a pod sharing one) exits: `kill --all <id> KILL` must succeed and kill the rest.
    const id = "ka" + Math.random().toString(36).slice(2, 8);
    const b = await sb.bundle(id, ["sh", "-c", "sleep 1000 </dev/null >/dev/null 2>&1 & exit 0"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "pid");
    });
    let left: number[] = [];
    try {
      sb.ok(["run", "-d", "-b", b, id]);
      const state = JSON.parse(readFileSync(join(sb.root, id, "state.json"), "utf8"));
      for (let i = 0; i < 400 && JSON.parse(sb.ok(["state", id])).status !== "stopped"; i++) Bun.sleepSync(10);
      expect(JSON.parse(sb.ok(["state", id])).status).toBe("stopped");
      left = readFileSync(join(state.cgroupPaths.freezer, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
      expect(left.map((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim())).toEqual(["sleep"]);

      // A signal other than KILL goes to the init alone, which is gone (KILL, as runc 1.2 on,
      // reaches every process without --all: runc-compat-exec.test.ts).
      expect(sb.run(["kill", id, "TERM"]).stderr).toContain("container not running");
      sb.ok(["kill", "--all", id, "KILL"]);
      for (let i = 0; i < 200 && left.some(pidAlive); i++) Bun.sleepSync(10);
      expect(left.filter(pidAlive)).toEqual([]);
      sb.ok(["delete", id]);
      expect(leftovers(id)).toEqual([]);
    } finally {
      for (const p of left) try { process.kill(p, 9); } catch {}
      sb.run(["delete", "-f", id]);
    }
  });

  test("delete removes the cgroup after the init was killed with SIGKILL from outside", async () => {
    const b = await sb.bundle("k9", ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, "k9"]);
    const pid = JSON.parse(sb.ok(["state", "k9"])).pid;
    process.kill(pid, "SIGKILL");
    waitFor(() => !pidAlive(pid), `init ${pid} to die`);
    expect(JSON.parse(sb.ok(["state", "k9"])).status).toBe("stopped");
    sb.ok(["delete", "k9"]);
    expect(leftovers("k9")).toEqual([]);
  });

  // A block device of the host's (not in the default allow list): loop0, else a disk.
  const blockNode = ["loop0", ...readdirSync("/sys/block")].map((d) => `/dev/${d}`).find(existsSync);
  const noBlockNode = isRoot && v1 && skipping(!blockNode, "device rules with a bound host device", "no /dev/loop0 and no /dev node of a disk in /sys/block");
  test.skipIf(noBlockNode)("device rules: deny-all plus the default allow list; a bound host device outside it is refused", async () => {
    const b = await sb.bundle("dev", ["sh", "-c", "head -c1 /dev/zero | wc -c; cat /dev/null && echo null-ok; (exec 3</dev/loop0) 2>/dev/null && echo loop-ok || echo loop-denied"], (c) => {
      c.mounts.push({ destination: "/dev/loop0", type: "bind", source: blockNode!, options: ["bind"] });
      c.linux.resources = { devices: [{ allow: false, access: "rwm" }] };
    });
    const r = sb.run(["run", "-b", b, "dev"]);
    expect(r.stdout).toBe("1\nnull-ok\nloop-denied\n");
    const open = await sb.bundle("dev2", ["sh", "-c", "(exec 3</dev/loop0) 2>/dev/null && echo loop-ok || echo loop-denied"], (c) => {
      c.mounts.push({ destination: "/dev/loop0", type: "bind", source: blockNode!, options: ["bind"] });
      c.linux.resources = {}; // no device rules: the host's access is kept (as runc)
    });
    expect(sb.run(["run", "-b", open, "dev2"]).stdout).toBe("loop-ok\n");
  });
});

describe.skipIf(!isRoot || !v1)("events (root)", () => {
  test("events streams stats every interval and reports an OOM kill", async () => {
    const b = await sb.bundle("ev", ["sleep", "30"], (c) => {
      c.linux.resources = { memory: { limit: 16 * 1024 * 1024, ...noSwap } };
    });
    sb.ok(["run", "-d", "-b", b, "ev"]);
    const { BUNC } = await import("../support/harness");
    const p = Bun.spawn([...BUNC, "--root", sb.root, "events", "--interval", "200ms", "ev"], { stdout: "pipe" });
    const lines: any[] = [];
    const reader = (async () => {
      for await (const chunk of p.stdout) for (const l of new TextDecoder().decode(chunk).split("\n")) if (l.trim()) lines.push(JSON.parse(l));
    })();
    // events counts OOM kills from where they stand when it starts: exhaust the memory only after its first event.
    await until(() => lines.some((l) => l.type === "stats"), "the first stats event");
    sb.run(["exec", "ev", "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a)"]); // OOM-killed
    await until(() => lines.some((l) => l.type === "oom") && lines.filter((l) => l.type === "stats").length > 1, "the oom event and a second stats event");
    p.kill();
    await reader.catch(() => {});
    sb.run(["delete", "-f", "ev"]);
    expect(lines.filter((l) => l.type === "stats").length).toBeGreaterThan(1);
    expect(lines).toContainEqual({ type: "oom", id: "ev" });
  });
});
