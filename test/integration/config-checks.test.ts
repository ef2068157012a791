// Config checks at create (root): sysctls that would land in the host's namespaces are
// refused (and the host's values stay), those of the container's own namespaces are
// applied; duplicate rlimits, AppArmor/SELinux settings without the LSM and a frozen
// cgroup are refused with nothing left behind; rootfsPropagation "unbindable" works.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { isRoot, fileSandbox } from "../support/harness";

const sb = fileSandbox();
const uid = () => "x" + Math.random().toString(36).slice(2, 8);
const hierarchies = () => readdirSync("/sys/fs/cgroup").map((d) => join("/sys/fs/cgroup", d)).filter((d) => existsSync(join(d, "cgroup.procs")));
const cgroupLeftovers = (rel: string) => hierarchies().map((h) => join(h, rel)).filter(existsSync);
const without = (type: string) => (c: any) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== type));

const HOST_FILES = ["net/ipv4/ping_group_range", "fs/mqueue/queues_max", "kernel/hostname", "kernel/domainname"].map((f) => `/proc/sys/${f}`);
const hostValues = () => HOST_FILES.map((f) => readFileSync(f, "utf8"));

/** create must fail with `message`, leaving no state dir and no cgroup. */
async function refused(edit: (c: any) => void, message: string | RegExp, opts: { timeout?: number } = {}): Promise<string> {
  const id = uid();
  const b = await sb.bundle(id, ["true"], edit);
  const r = sb.run(["create", "-b", b, id], { timeout: opts.timeout ?? 30_000 });
  if (r.code === 0) sb.run(["delete", "-f", id]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split("\n").length).toBe(1);
  expect(existsSync(join(sb.root, id))).toBe(false);
  expect(cgroupLeftovers(`bunc/${id}`)).toEqual([]);
  return id;
}

describe.skipIf(!isRoot)("linux.sysctl only in the container's own namespaces (root)", () => {
  test("sysctls of the host's network, ipc and uts namespaces are refused; the host keeps its values", async () => {
    const before = hostValues();
    const hostName = hostname();
    try {
      await refused((c) => (without("network")(c), (c.linux.sysctl = { "net.ipv4.ping_group_range": "0 2147483647" })),
        'linux.sysctl["net.ipv4.ping_group_range"]: not allowed in the host\'s network namespace');
      // A network namespace joined by path that is the host's own counts as the host's.
      await refused((c) => {
        c.linux.namespaces.find((n: any) => n.type === "network").path = `/proc/${process.pid}/ns/net`;
        c.linux.sysctl = { "net.ipv4.ping_group_range": "0 2147483647" };
      }, "not allowed in the host's network namespace");
      await refused((c) => (without("ipc")(c), (c.linux.sysctl = { "fs.mqueue.queues_max": "1234" })),
        'linux.sysctl["fs.mqueue.queues_max"]: not allowed in the host\'s ipc namespace');
      await refused((c) => (without("uts")(c), delete c.hostname, (c.linux.sysctl = { "kernel.hostname": "renamed" })),
        'linux.sysctl["kernel.hostname"]: not allowed in the host\'s uts namespace');
      await refused((c) => (c.linux.sysctl = { "kernel.hostname": "renamed" }), 'linux.sysctl["kernel.hostname"]: conflicts with the OCI "hostname" field');
      // In the container's own uts namespace too: the hostname field is the way (runc, crun).
      await refused((c) => (delete c.hostname, (c.linux.sysctl = { "kernel.hostname": "renamed" })),
        'linux.sysctl["kernel.hostname"]: conflicts with the OCI "hostname" field, which is the way to set it');
      // A kernel.domainname that differs from the domainname field: which one wins is not for bunc to guess (crun).
      await refused((c) => ((c.domainname = "field.example"), (c.linux.sysctl = { "kernel.domainname": "sysctl.example" })),
        'linux.sysctl["kernel.domainname"]: "sysctl.example" differs from the OCI "domainname" field ("field.example")');
      await refused((c) => (c.linux.sysctl = { "kernel.pid_max": "100000" }), 'linux.sysctl["kernel.pid_max"]: not in a separate kernel namespace');
      expect(hostValues()).toEqual(before);
      expect(hostname()).toBe(hostName);
    } finally {
      // Put the host back should an old build have changed it.
      HOST_FILES.forEach((f, i) => { try { if (readFileSync(f, "utf8") !== before[i]) writeFileSync(f, before[i]!); } catch {} });
    }
  });

  test("a container with its own network, ipc and uts namespaces gets its sysctls", async () => {
    const before = hostValues();
    const id = uid();
    const b = await sb.bundle(id, ["sh", "-c", "cat /proc/sys/net/ipv4/ping_group_range /proc/sys/fs/mqueue/queues_max /proc/sys/kernel/domainname"], (c) => {
      c.linux.sysctl = { "net.ipv4.ping_group_range": "0 2147483647", "fs/mqueue/queues_max": "1234", "kernel.domainname": "fromsysctl.example" };
    });
    const out = sb.ok(["run", "-b", b, id]).trim().split("\n").map((l) => l.replace(/\s+/g, " "));
    expect(out).toEqual(["0 2147483647", "1234", "fromsysctl.example"]);
    expect(hostValues()).toEqual(before);
  });

  test("a domainname field and an equal kernel.domainname sysctl: accepted, as runc and crun do", async () => {
    const before = hostValues();
    const id = uid();
    const b = await sb.bundle(id, ["sh", "-c", "echo $(cat /proc/sys/kernel/domainname) $(hostname)"], (c) => {
      c.hostname = "named";
      c.domainname = "both.example";
      c.linux.sysctl = { "kernel.domainname": "both.example" };
    });
    expect(sb.ok(["run", "-b", b, id]).trim()).toBe("both.example named");
    expect(hostValues()).toEqual(before);
  });
});

describe.skipIf(!isRoot)("other config checks (root)", () => {
  test("duplicate rlimits types are refused", async () => {
    await refused((c) => c.process.rlimits.push({ type: "RLIMIT_CORE", soft: 0, hard: 0 }, { type: "RLIMIT_NOFILE", soft: 10, hard: 10 }),
      'process.rlimits[2].type: duplicate "RLIMIT_NOFILE"');
  });

  const apparmor = existsSync("/sys/module/apparmor/parameters/enabled") && readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y";
  const selinux = readFileSync("/proc/self/mountinfo", "utf8").includes(" - selinuxfs ");
  test.skipIf(apparmor)("process.apparmorProfile without AppArmor is refused", async () => {
    await refused((c) => (c.process.apparmorProfile = "docker-default"), "process.apparmorProfile: AppArmor is not enabled on this host");
  });
  test.skipIf(selinux)("process.selinuxLabel and linux.mountLabel without SELinux are refused; empty ones are unset", async () => {
    await refused((c) => (c.process.selinuxLabel = "system_u:system_r:container_t:s0"), "process.selinuxLabel: SELinux is not enabled on this host");
    await refused((c) => (c.linux.mountLabel = "system_u:object_r:container_file_t:s0"), "linux.mountLabel: SELinux is not enabled on this host");
    const id = uid();
    const b = await sb.bundle(id, ["true"], (c) => ((c.process.selinuxLabel = ""), (c.linux.mountLabel = ""), (c.process.apparmorProfile = "")));
    sb.ok(["run", "-b", b, id]);
  });
  test.skipIf(selinux)("exec --process-label (and a label in --process) without SELinux is refused; the container runs on", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const r = sb.run(["exec", "--process-label", "system_u:system_r:container_t:s0", id, "true"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toMatch(/process\.selinuxLabel: SELinux is not enabled on this host$/);
      const proc = join(b, "process.json");
      writeFileSync(proc, JSON.stringify({ args: ["true"], cwd: "/", env: ["PATH=/bin:/usr/bin"], user: { uid: 0, gid: 0 }, selinuxLabel: "system_u:system_r:container_t:s0" }));
      const p = sb.run(["exec", "--process", proc, id]);
      expect(p.code).not.toBe(0);
      expect(p.stderr).toContain("process.selinuxLabel: SELinux is not enabled on this host");
      sb.ok(["exec", id, "true"]);
    } finally {
      sb.run(["delete", "-f", id]);
    }
  });

  test("exec --process: a process that is not one is refused in one line naming the field (exit 255); a valid one runs", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const proc = join(b, "process.json");
      writeFileSync(proc, JSON.stringify({ args: "echo hi", cwd: "/", user: { uid: 0, gid: 0 } }));
      const r = sb.run(["exec", "--process", proc, id]);
      expect(r.code).toBe(255);
      expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`invalid --process ${proc}: args: `))]);
      writeFileSync(proc, JSON.stringify({ args: ["echo", "hi"], cwd: "/", env: ["PATH=/bin:/usr/bin"], user: { uid: 0, gid: 0 } }));
      expect(sb.ok(["exec", "--process", proc, id]).trim()).toBe("hi");
    } finally {
      sb.run(["delete", "-f", id]);
    }
  });

  test("rootfsPropagation unbindable and runbindable: the container's / is unbindable", async () => {
    for (const p of ["unbindable", "runbindable"]) {
      const id = uid();
      const b = await sb.bundle(id, ["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"], (c) => (c.linux.rootfsPropagation = p));
      const root = sb.ok(["run", "-b", b, id]).trim().split("\n");
      expect(root.length).toBe(1);
      expect(root[0]).toMatch(/ unbindable /);
    }
  });
});

describe.skipIf(!isRoot)("a frozen cgroup (root)", () => {
  /** A cgroup made and frozen by the test (as a user would), thawed and removed in the end. */
  async function withFrozen(dir: string, freeze: [string, string], thaw: string) {
    const name = dir.split("/").pop()!;
    mkdirSync(dir);
    try {
      writeFileSync(join(dir, freeze[0]), freeze[1]);
      await refused((c) => (c.linux.cgroupsPath = `/${name}`), `linux.cgroupsPath: container's cgroup unexpectedly frozen: ${dir}`, { timeout: 20_000 });
      expect(statSync(dir).isDirectory()).toBe(true); // the user's cgroup stays
      expect(cgroupLeftovers(name)).toEqual([dir]); // bunc made none elsewhere
    } finally {
      writeFileSync(join(dir, freeze[0]), thaw);
      for (const pid of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) try { process.kill(Number(pid), 9); } catch {}
      for (let i = 0; i < 200 && readFileSync(join(dir, "cgroup.procs"), "utf8").trim(); i++) Bun.sleepSync(10);
      for (const h of cgroupLeftovers(name).reverse()) try { rmdirSync(h); } catch {}
    }
  }

  test.skipIf(!existsSync("/sys/fs/cgroup/freezer/freezer.state") && !existsSync("/sys/fs/cgroup/freezer/cgroup.procs"))("v1 freezer: FROZEN", async () => {
    await withFrozen(`/sys/fs/cgroup/freezer/${uid()}`, ["freezer.state", "FROZEN"], "THAWED");
  });

  const unified = existsSync("/sys/fs/cgroup/unified/cgroup.procs") ? "/sys/fs/cgroup/unified" : existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "";
  test.skipIf(!unified)("cgroup v2: cgroup.freeze 1", async () => {
    await withFrozen(`${unified}/${uid()}`, ["cgroup.freeze", "1"], "0");
  });
});
