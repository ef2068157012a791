// config.json validation: every error names its JSON path; rules across fields
// (duplicate namespaces, mappings, time offsets, hostname); the namespace plan; names of
// capabilities; the schema's parts most configs leave out, built on first use (spec/lazily.ts).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseConfig } from "../../src/spec/parse";
import { defaultSpec } from "../../src/spec/default";
import { CLONE_FLAGS, idMapText, planNamespaces, timeOffsetsText } from "../../src/linux/namespaces";
import { capMask, capSets } from "../../src/linux/capabilities";

const base = () => JSON.parse(JSON.stringify(defaultSpec({ args: ["true"], terminal: false, cgroupNamespace: true })));
function error(edit: (c: any) => void): string {
  const c = base();
  edit(c);
  try {
    parseConfig(c);
  } catch (e: any) {
    return e.message;
  }
  return "(accepted)";
}

describe("parseConfig", () => {
  test("the default spec is valid and gets defaults", () => {
    const c = parseConfig(base());
    expect(c.process!.user).toMatchObject({ uid: 0, gid: 0 });
    expect(c.root!.readonly).toBe(true);
    expect(c.linux.namespaces.map((n) => n.type)).toContain("mount");
  });
  test("schema errors name the JSON path and the reason", () => {
    expect(error((c) => (c.ociVersion = "0.9"))).toBe("invalid config.json: ociVersion: must be a 1.x.y runtime-spec version");
    expect(error((c) => (c.process.args = []))).toContain("process.args: must name the program to run");
    expect(error((c) => (c.process.cwd = "rel"))).toContain("process.cwd: must be an absolute path");
    expect(error((c) => (c.process.env = ["NOEQUALS"]))).toContain("process.env[0]: must be KEY=VALUE");
    expect(error((c) => (c.process.user.uid = -1))).toContain("process.user.uid:");
    expect(error((c) => (c.process.rlimits = [{ type: "RLIMIT_FOO", soft: 1, hard: 1 }]))).toContain('process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"');
    expect(error((c) => (c.process.oomScoreAdj = 1001))).toContain("process.oomScoreAdj:");
    expect(error((c) => (c.mounts[2].destination = ""))).toContain("mounts[2].destination: must not be empty");
    expect(error((c) => (c.linux.namespaces[1].type = "bogus"))).toContain('linux.namespaces[1].type: unknown namespace type "bogus"');
    expect(error((c) => (c.linux.namespaces[0].path = "proc/1/ns/pid"))).toContain("linux.namespaces[0].path: must be an absolute path");
    expect(error((c) => (c.linux.devices = [{ type: "x", path: "/dev/x" }]))).toContain('linux.devices[0].type: unknown device type "x"');
    expect(error((c) => (c.linux.rootfsPropagation = "sideways"))).toContain('linux.rootfsPropagation: unknown propagation "sideways"');
    expect(error((c) => (c.hooks = { prestart: [{ path: "/x", timeout: 0 }] }))).toContain("hooks.prestart[0].timeout: must be greater than zero");
    expect(error((c) => (c.hooks = { poststop: [{ path: "rel" }] }))).toContain("hooks.poststop[0].path: must be an absolute path");
    expect(error((c) => delete c.root)).toContain("root: is required");
  });
  test("duplicate namespace types are rejected", () => {
    expect(error((c) => c.linux.namespaces.push({ type: "network" }))).toBe('invalid config.json: linux.namespaces[6]: duplicate namespace type "network"');
    expect(error((c) => c.linux.namespaces.push({ type: "pid", path: "/proc/1/ns/pid" }))).toContain('duplicate namespace type "pid"');
  });
  test("cross-field rules", () => {
    expect(error((c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]))).toContain("linux.uidMappings: id mappings need a user namespace");
    expect(error((c) => c.linux.namespaces.push({ type: "user" }))).toContain("a new user namespace needs uidMappings and gidMappings");
    expect(error((c) => (c.linux.timeOffsets = { boottime: { secs: 1 } }))).toContain("linux.timeOffsets: needs a time namespace");
    expect(error((c) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "uts")))).toContain("hostname: needs a new uts namespace");
    expect(error((c) => (c.linux.sysctl = { "net/../../etc": "1" }))).toContain("linux.sysctl: invalid key");
    const noUts = (c: any) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "uts"));
    expect(error((c) => (noUts(c), delete c.hostname, (c.domainname = "example.org")))).toContain("domainname: needs a new uts namespace");
  });
  test("an empty hostname or domainname is left alone, never set on the host", () => {
    const c = base();
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "uts");
    c.hostname = "";
    c.domainname = "";
    const parsed = parseConfig(c);
    expect(parsed.hostname).toBeUndefined();
    expect(parsed.domainname).toBeUndefined();
  });
  test("a member set to null is one left out (as runc, crun and youki); null in an array is still an error", () => {
    const c = base();
    c.linux.namespaces.push({ type: "time" });
    c.linux.timeOffsets = null;
    c.process.capabilities.ambient = null;
    c.hooks = null;
    const parsed = parseConfig(c);
    expect(parsed.linux.timeOffsets).toBeUndefined();
    expect(parsed.process!.capabilities!.ambient).toBeUndefined();
    expect(parsed.hooks).toBeUndefined();
    expect(error((c) => (c.process.args = ["sh", null]))).toContain("process.args[1]");
    expect(error((c) => (c.process = null))).toBe("(accepted)");
  });
  test("unknown properties are ignored", () => {
    expect(error((c) => ((c.extra = { a: 1 }), (c.process.whatever = 1)))).toBe("(accepted)");
  });
});

describe("planNamespaces", () => {
  const plan = (namespaces: any[], extra: (c: any) => void = () => {}) => {
    const c = base();
    c.linux.namespaces = namespaces;
    delete c.hostname;
    extra(c);
    return planNamespaces(parseConfig(c));
  };
  test("new namespaces are clone flags; time is unshared", () => {
    const p = plan([{ type: "pid" }, { type: "network" }, { type: "mount" }, { type: "time" }]);
    expect(p.cloneFlags).toBe(CLONE_FLAGS.pid | CLONE_FLAGS.network | CLONE_FLAGS.mount);
    expect(p.unshareFlags).toBe(CLONE_FLAGS.time);
    expect(p).toMatchObject({ newPid: true, newUser: false, joins: [] });
    expect(p.has("time")).toBe(true);
    expect(p.has("ipc")).toBe(false);
  });
  test("joined namespaces: the user namespace is joined first", () => {
    const p = plan(
      [{ type: "network", path: "/proc/1/ns/net" }, { type: "ipc", path: "/proc/1/ns/ipc" }, { type: "user", path: "/proc/1/ns/user" }, { type: "mount" }],
    );
    expect(p.joins.map((j) => j.type)).toEqual(["user", "network", "ipc"]);
    expect(p.joins[0]!.nstype).toBe(CLONE_FLAGS.user);
    expect(p.cloneFlags).toBe(CLONE_FLAGS.mount);
    expect(p.newUser).toBe(false);
  });
  test("a new user namespace is a clone flag", () => {
    const p = plan([{ type: "user" }, { type: "pid" }], (c) => {
      c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    });
    expect(p.newUser).toBe(true);
    expect(p.cloneFlags & CLONE_FLAGS.user).toBe(CLONE_FLAGS.user);
  });
  test("id maps and time offsets as the kernel reads them", () => {
    expect(idMapText([{ containerID: 0, hostID: 100000, size: 65536 }, { containerID: 70000, hostID: 5, size: 1 }])).toBe("0 100000 65536\n70000 5 1\n");
    expect(timeOffsetsText({ boottime: { secs: 86400, nanosecs: 0 }, monotonic: { secs: -5, nanosecs: 7 } })).toBe("boottime 86400 0\nmonotonic -5 7\n");
    expect(timeOffsetsText(undefined)).toBeUndefined();
  });
});

describe("capabilities", () => {
  test("names map to bits; unknown names are warnings, not errors", () => {
    const warnings: string[] = [];
    const m = capMask(["CAP_CHOWN", "cap_kill", "CAP_NOPE", "CAP_SYS_ADMIN"], (w) => warnings.push(w), 40);
    expect(m).toBe((1n << 0n) | (1n << 5n) | (1n << 21n));
    expect(warnings).toEqual(['unknown capability "CAP_NOPE" ignored']);
  });
  test("capabilities newer than the kernel are warnings", () => {
    const warnings: string[] = [];
    expect(capMask(["CAP_CHECKPOINT_RESTORE"], (w) => warnings.push(w), 39)).toBe(0n);
    expect(warnings).toHaveLength(1);
  });
  test("the five sets", () => {
    const s = capSets({ bounding: ["CAP_KILL"], effective: ["CAP_CHOWN"], ambient: ["CAP_NET_RAW"] }, () => {});
    expect(s).toEqual({ bounding: 1n << 5n, effective: 1n, permitted: 0n, inheritable: 0n, ambient: 1n << 13n });
  });
});

describe("default spec's cgroup namespace (as runc 1.1)", () => {
  const { defaultSpec: spec, isUnifiedCgroupHost } = require("../../src/spec/default") as typeof import("../../src/spec/default");
  test("only on a unified cgroup v2 host, unless asked", () => {
    const has = (c: any) => c.linux.namespaces.some((n: any) => n.type === "cgroup");
    expect(has(spec())).toBe(isUnifiedCgroupHost());
    expect(has(spec({ cgroupNamespace: true }))).toBe(true);
    expect(has(spec({ cgroupNamespace: false }))).toBe(false);
  });
});

describe("lazily built parts of the config schema", () => {
  test("the default config builds none of them; a config with hooks, seccomp and memory builds those", () => {
    // A fresh process: other test files in this one may have built them already.
    const src = join(import.meta.dir, "../../src/spec");
    const script = `
      const { parseConfig } = await import(${JSON.stringify(join(src, "parse.ts"))});
      const { defaultSpec } = await import(${JSON.stringify(join(src, "default.ts"))});
      const s = await import(${JSON.stringify(join(src, "schema.ts"))});
      const { SeccompSchema } = await import(${JSON.stringify(join(src, "seccomp.ts"))});
      const { LinuxResourcesSchema } = await import(${JSON.stringify(join(src, "resources.ts"))});
      const built = () => ({
        hooks: s.HooksSchema.isBuilt, seccomp: SeccompSchema.isBuilt, scheduler: s.SchedulerSchema.isBuilt,
        devices: s.DeviceSchema.isBuilt, memory: LinuxResourcesSchema.entries.memory.wrapped.isBuilt,
        blockIO: LinuxResourcesSchema.entries.blockIO.wrapped.isBuilt,
      });
      const c = defaultSpec({ args: ["true"], terminal: false, cgroupNamespace: true });
      parseConfig(structuredClone(c));
      const before = built();
      parseConfig({ ...c, hooks: { prestart: [{ path: "/bin/true" }] },
        linux: { ...c.linux, seccomp: { defaultAction: "SCMP_ACT_ALLOW" }, resources: { ...c.linux.resources, memory: { limit: 1 << 20 } } } });
      console.log(JSON.stringify({ before, after: built() }));`;
    const r = Bun.spawnSync([process.execPath, "-e", script], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    const { before, after } = JSON.parse(r.stdout.toString());
    expect(before).toEqual({ hooks: false, seccomp: false, scheduler: false, devices: false, memory: false, blockIO: false });
    expect(after).toEqual({ hooks: true, seccomp: true, scheduler: false, devices: false, memory: true, blockIO: false });
  });

  test("errors inside them name their JSON path", () => {
    expect(error((c) => (c.linux.resources.memory = { swappiness: 101 }))).toContain("linux.resources.memory.swappiness:");
    expect(error((c) => (c.linux.resources.blockIO = { weightDevice: [{ major: 8, minor: 0, weight: 70000 }] }))).toContain("linux.resources.blockIO.weightDevice[0].weight:");
    expect(error((c) => (c.linux.resources.unified = { "a/b": "1" }))).toContain("linux.resources.unified.a/b: must be a cgroup file name like memory.high");
    expect(error((c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOPE" }))).toContain('linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_NOPE"');
    expect(error((c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }] })))
      .toContain("linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_ALLOW does not take an errno");
    expect(error((c) => (c.linux.memoryPolicy = { mode: "MPOL_BIND", nodes: "x" }))).toContain("linux.memoryPolicy.nodes:");
    expect(error((c) => (c.process.execCPUAffinity = { initial: "a-b" }))).toContain("process.execCPUAffinity.initial:");
    expect(error((c) => (c.process.scheduler = { policy: "SCHED_NOPE" }))).toContain('process.scheduler.policy: unknown policy "SCHED_NOPE"');
    expect(error((c) => (c.linux.timeOffsets = { monotonic: { secs: 1.5 } }))).toContain("linux.timeOffsets.monotonic.secs:");
  });

  test("their values come through as before", () => {
    const c = base();
    c.hooks = { poststart: [{ path: "/bin/echo", args: ["echo", "hi"], timeout: 5 }] };
    c.linux.resources.memory = { limit: 1048576, swappiness: 10 };
    c.linux.seccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 1, op: "SCMP_CMP_EQ" }] }] };
    const out = parseConfig(c);
    expect(out.hooks?.poststart?.[0]).toMatchObject({ path: "/bin/echo", args: ["echo", "hi"], timeout: 5 });
    expect(out.linux.resources?.memory).toMatchObject({ limit: 1048576, swappiness: 10 });
    expect(out.linux.seccomp?.syscalls?.[0]?.args?.[0]).toMatchObject({ index: 0, value: 1, valueTwo: 0, op: "SCMP_CMP_EQ" });
  });
});
