// The parts of the config schema most configs leave out are built on first use (spec/lazily.ts):
// loading and checking the default config builds none of them, a config that has them builds
// those, and an error inside one names its JSON path as before.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseConfig } from "../../src/spec/parse";
import { defaultSpec } from "../../src/spec/default";

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
