// The OCI lifecycle through the real binary (needs root): create, state, start, kill,
// delete, run, list, and the error cases of runtime.md.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, isRoot, mountsUnder, pidAlive, fileSandbox, waitFor } from "../support/harness";

const sb = fileSandbox();

describe.skipIf(!isRoot)("lifecycle (root)", () => {
  test("create waits, start runs the program, state follows, delete removes everything", async () => {
    const b = await sb.bundle("life", ["sh", "-c", "echo started > /tmp/marker; sleep 30"], (c) => {
      c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
    });
    const pidFile = join(sb.dir, "life.pid");
    const before = Date.now();
    sb.ok(["create", "-b", b, "--pid-file", pidFile, "life"]);
    const after = Date.now();
    const pid = Number(readFileSync(pidFile, "utf8"));
    const created = JSON.parse(sb.ok(["state", "life"]));
    expect(created).toMatchObject({ id: "life", status: "created", pid, bundle: b, ociVersion: expect.any(String) });
    expect(created.rootfs).toBeString();
    expect(created.owner).toBe("root");
    expect(Date.parse(created.created)).toBeWithin(before, after + 1); // stamped during create
    // The user's program has not run yet: the init is still bunc.
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain("sleep");
    sb.ok(["start", "life"]);
    expect(JSON.parse(sb.ok(["state", "life"])).status).toBe("running");
    // start returned after the execve: the init already is the program.
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("sleep");
    const again = sb.run(["start", "life"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("running");
    const del = sb.run(["delete", "life"]);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain("not stopped");
    sb.ok(["kill", "life", "KILL"]);
    waitFor(() => !pidAlive(pid), `init ${pid} to die of SIGKILL`);
    expect(JSON.parse(sb.ok(["state", "life"]))).toMatchObject({ status: "stopped", pid: 0 });
    sb.ok(["delete", "life"]);
    expect(sb.containers()).toEqual([]);
    expect(mountsUnder(sb.dir)).toEqual([]);
    expect(sb.run(["state", "life"]).code).toBe(1);
  });

  test("--debug traces the system calls too", async () => {
    const id = "dbg" + Math.random().toString(36).slice(2, 7);
    const b = await sb.bundle(id, ["true"]);
    const r = sb.run(["--debug", "run", "-b", b, id]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/syscall flock \S+ = 0/);
    expect(r.stderr).toMatch(/syscall setns = 0/);
  });

  test("--debug: one trip into the container's namespaces without hooks, two with a prestart hook; freezer files read only where they exist", async () => {
    const setns = (stderr: string) => stderr.split("\n").filter((l) => /syscall setns = 0/.test(l)).length;
    const id = "trip" + Math.random().toString(36).slice(2, 7);
    const plain = await sb.bundle(id, ["true"]);
    const r = sb.run(["--debug", "create", "-b", plain, id]);
    expect(r.code).toBe(0);
    sb.ok(["delete", "--force", id]);
    // Where bunc's own thread does not set the rootfs up (rootless, no new mount API), there is no trip.
    if (!r.stderr.includes("set up by bunc's own thread")) return;
    expect(setns(r.stderr)).toBe(10); // five namespaces joined, five back (pid is not joined)
    // Only the v1 freezer hierarchy has freezer.state, only cgroup2 has cgroup.freeze.
    const v1 = /\/sys\/fs\/cgroup\/(cpu|cpuacct|cpuset|memory|devices|blkio|pids|systemd|net_cls|net_prio|perf_event|hugetlb|rdma|misc)[,/]/;
    const freezerFiles = r.stderr.split("\n").filter((l) => /syscall open \S+\/(freezer\.state|cgroup\.freeze) /.test(l));
    expect(freezerFiles.filter((l) => l.includes("freezer.state") && !/\/freezer[,/]/.test(l))).toEqual([]);
    expect(freezerFiles.filter((l) => l.includes("cgroup.freeze") && v1.test(l))).toEqual([]);
    const hooked = await sb.bundle(id + "h", ["true"], (c) => (c.hooks = { prestart: [{ path: "/bin/true" }] }));
    const h = sb.run(["--debug", "create", "-b", hooked, id + "h"]);
    expect(h.code).toBe(0);
    sb.ok(["delete", "--force", id + "h"]);
    expect(setns(h.stderr)).toBe(20); // the hook runs in bunc's namespaces between the mounts and pivot_root
  });

  test("later edits of config.json have no effect on a created container", async () => {
    const b = await sb.bundle("edit", ["sh", "-c", "echo original > /out"], () => {}, true);
    sb.ok(["create", "-b", b, "edit"]);
    const cfg = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
    cfg.process.args = ["sh", "-c", "echo edited > /out"];
    writeFileSync(join(b, "config.json"), JSON.stringify(cfg));
    sb.ok(["start", "edit"]);
    // Stopped: the shell has written /out and exited.
    waitFor(() => JSON.parse(sb.ok(["state", "edit"])).status === "stopped", "the container to stop");
    expect(readFileSync(join(b, "rootfs/out"), "utf8")).toBe("original\n");
    sb.ok(["delete", "--force", "edit"]);
  });

  test("run returns the exit status, 128+n for a signal", async () => {
    const b = await sb.bundle("ex", ["sh", "-c", "exit 42"]);
    expect(sb.run(["run", "-b", b, "ex"]).code).toBe(42);
    const s = await sb.bundle("sig2", ["sleep", "10"]);
    const p = Bun.spawn([...BUNC, "--root", sb.root, "run", "-b", s, "sig2"]);
    // Running (not just created): the signal reaches `sleep`, not the init before its execve.
    waitFor(() => existsSync(join(sb.root, "sig2", "state.json")) && JSON.parse(sb.run(["state", "sig2"]).stdout || "{}").status === "running", "sig2 to run");
    sb.ok(["kill", "sig2", "KILL"]);
    expect(await p.exited).toBe(137);
    expect(sb.containers()).toEqual([]);
  });

  test("nsexec compiled at run time by TinyCC (no prebuilt object) runs containers too", async () => {
    const b = await sb.bundle("tcc", ["echo", "via tcc"]);
    expect(sb.run(["run", "-b", b, "tcc"], { env: { BUNC_NSEXEC: "tcc" } })).toMatchObject({ code: 0, stdout: "via tcc\n" });
  });

  test("run prints the container's output and cleans up", async () => {
    const b = await sb.bundle("hello", ["echo", "hello from alpine"]);
    const r = sb.run(["run", "-b", b, "hello"]);
    expect(r).toMatchObject({ code: 0, stdout: "hello from alpine\n" });
    expect(sb.containers()).toEqual([]);
  });

  test("run --detach leaves a running container; list shows it", async () => {
    const b = await sb.bundle("det", ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, "det"]);
    expect(sb.ok(["list", "-q"])).toBe("det\n");
    const json = JSON.parse(sb.ok(["list", "--format", "json"]));
    expect(json).toMatchObject([{ id: "det", status: "running" }]);
    expect(sb.ok(["list"])).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\ndet\s+\d+\s+running/);
    // runc's table (Go's tabwriter: columns of at least 12, 3 spaces of padding, the last as it is)
    const [head, row] = sb.ok(["list"]).split("\n");
    expect(head!.slice(0, 36)).toBe("ID          PID         STATUS      ");
    expect(row!.slice(0, 12)).toBe("det         ");
    expect(row!.slice(24, 36)).toBe("running     ");
    expect(head!.indexOf("CREATED")).toBe(36 + Math.max(12, b.length + 3));
    sb.ok(["delete", "-f", "det"]);
    expect(sb.ok(["list", "-q"])).toBe("");
  });

  test("delete of a created container kills and removes it", async () => {
    const b = await sb.bundle("cr", ["true"]);
    sb.ok(["create", "-b", b, "cr"]);
    const pid = JSON.parse(sb.ok(["state", "cr"])).pid;
    sb.ok(["delete", "cr"]);
    expect(pidAlive(pid)).toBe(false);
    expect(sb.containers()).toEqual([]);
  });

  test("error cases: unknown, duplicate and invalid ids, missing bundle, bad config", async () => {
    expect(sb.run(["state", "nope"])).toMatchObject({ code: 1, stderr: expect.stringContaining("does not exist") });
    expect(sb.run(["delete", "nope"]).code).toBe(1);
    expect(sb.run(["delete", "--force", "nope"]).code).toBe(0);
    expect(sb.run(["kill", "nope"]).code).toBe(1);
    expect(sb.run(["start", "nope"]).code).toBe(1);
    const b = await sb.bundle("dup", ["sleep", "10"]);
    sb.ok(["create", "-b", b, "dup"]);
    const dup = sb.run(["create", "-b", b, "dup"]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain("already exists");
    sb.ok(["delete", "-f", "dup"]);
    for (const bad of ["a/b", "..", "-x", "a b"]) {
      const r = sb.run(["create", "-b", b, "--", bad]);
      expect(r.code).not.toBe(0);
    }
    expect(sb.run(["create", "-b", b, "../x"]).stderr).toContain("invalid container id");
    expect(sb.run(["create", "-b", join(sb.dir, "missing"), "m"]).stderr).toContain("does not exist");
    const bad = await sb.bundle("badcfg", ["true"], (c) => (c.process.rlimits = [{ type: "RLIMIT_FOO", soft: 1, hard: 1 }]));
    const r = sb.run(["create", "-b", bad, "badcfg"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"');
    const nojson = join(sb.dir, "nojson");
    require("node:fs").mkdirSync(nojson);
    writeFileSync(join(nojson, "config.json"), "{");
    expect(sb.run(["create", "-b", nojson, "nj"]).stderr).toContain("not JSON");
    expect(sb.containers()).toEqual([]);
  });

  test("two concurrent creates of one id: exactly one wins", async () => {
    const b = await sb.bundle("race", ["sleep", "10"]);
    const ps = [0, 1, 2].map(() => Bun.spawn([...BUNC, "--root", sb.root, "create", "-b", b, "race"], { stderr: "pipe" }));
    const codes = await Promise.all(ps.map((p) => p.exited));
    expect(codes.filter((c) => c === 0).length).toBe(1);
    sb.ok(["delete", "-f", "race"]);
  });

  test("unknown command and unknown flag fail with one line", () => {
    const a = sb.run(["frobnicate"]);
    expect(a.code).not.toBe(0);
    expect(a.stderr.trim().split("\n")).toHaveLength(1);
    const f = sb.run(["state", "--bogus", "x"]);
    expect(f.code).not.toBe(0);
    expect(f.stderr).toContain("--bogus");
  });

  test("--log with --log-format json gets runc-style error lines", () => {
    const log = join(sb.dir, "log.json");
    const r = sb.run(["--log", log, "--log-format", "json", "state", "ghost"]);
    expect(r.code).toBe(1);
    const line = JSON.parse(readFileSync(log, "utf8").trim().split("\n").pop()!);
    expect(line).toMatchObject({ level: "error", msg: expect.stringContaining("ghost") });
    expect(Number.isNaN(Date.parse(line.time))).toBe(false);
  });

  test("--version and --help", () => {
    expect(sb.ok(["--version"])).toMatch(/^bunc version \d+\.\d+\.\d+\nspec: 1\.\d+\.\d+/);
    expect(sb.ok(["create", "--help"])).toContain("bundle");
  });
});

describe.skipIf(!isRoot)("run --rootfs (root)", () => {
  test("runs a command straight from the Alpine tarball and leaves nothing", () => {
    const { alpineTarball } = require("../../scripts/alpine-tarball");
    const r = sb.run(["run", "--rm", "--rootfs", alpineTarball(), "--", "sh", "-c", "cat /etc/alpine-release; touch /written && echo ok; exit 7"]);
    expect(r.stdout).toMatch(/^3\.\d+\.\d+\nok\n$/);
    expect(r.code).toBe(7);
    expect(require("node:fs").readdirSync(sb.root)).toEqual([]);
  });

  test("from a rootfs directory, and a bad source is a clear error", async () => {
    const rootfs = await sb.sharedRootfs();
    expect(sb.run(["run", "--rootfs", rootfs, "--", "echo", "dir"]).stdout).toBe("dir\n");
    const bad = sb.run(["run", "--rootfs", join(sb.dir, "nope.tar.gz"), "--", "true"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("nope.tar.gz: no such image, tarball, rootfs or bundle");
    expect(require("node:fs").readdirSync(sb.root)).toEqual([]);
  });
});
