// config.json fuzzing (no root): thousands of mutated configs through parseConfig, which
// may accept a config or reject it with a BuncError naming the JSON path on one line,
// and must never throw anything else (a TypeError from a missing field, a RangeError
// from a huge number, a stack overflow from nesting...). Plus the path and id rules of
// issue 6, one by one.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, readConfig } from "../../src/spec/parse";
import { defaultSpec } from "../../src/spec/default";
import { defaultSeccompProfile } from "../../src/linux/seccomp";
import { validateId } from "../../src/runtime/state";
import { BuncError } from "../../src/sys/errors";
import { garbage, mutateConfig, rng } from "../support/fuzz";

/** A valid config that uses most of the schema, so that mutations reach every part of it. */
export function richConfig(): any {
  const c: any = defaultSpec({ args: ["sh", "-c", "true"], terminal: false });
  c.process.rlimits.push({ type: "RLIMIT_NPROC", soft: 100, hard: 200 });
  c.process.capabilities.ambient = ["CAP_KILL"];
  c.process.capabilities.inheritable = ["CAP_KILL"];
  c.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o22 };
  c.process.oomScoreAdj = 100;
  c.hooks = {
    prestart: [{ path: "/bin/true", args: ["true"], env: ["A=b"], timeout: 5 }],
    poststop: [{ path: "/bin/true" }],
  };
  c.annotations = { "org.example": "x" };
  c.mounts.push({ destination: "/data", type: "bind", source: "/tmp", options: ["rbind", "ro"] });
  c.linux.devices = [{ type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
  c.linux.sysctl = { "net.ipv4.ip_forward": "0" };
  c.linux.rootfsPropagation = "rslave";
  c.linux.resources = {
    ...c.linux.resources,
    memory: { limit: 64 << 20, swap: 128 << 20 },
    pids: { limit: 64 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0" },
  };
  c.linux.seccomp = {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64"],
    syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] }],
  };
  return c;
}

/** parseConfig's outcome: "ok", or the BuncError's message; anything else is a failure of the test. */
function outcome(json: unknown): string {
  try {
    parseConfig(json);
    return "ok";
  } catch (e) {
    if (!(e instanceof BuncError)) throw new Error(`not a BuncError: ${(e as any)?.stack ?? e}`);
    return e.message;
  }
}

describe("config.json fuzz", () => {
  test("the seed configs are valid", () => {
    expect(outcome(richConfig())).toBe("ok");
    expect(outcome(defaultSpec())).toBe("ok");
    const withProfile: any = defaultSpec();
    withProfile.linux.seccomp = defaultSeccompProfile();
    expect(outcome(withProfile)).toBe("ok");
  });

  test("5000 mutated configs: accepted, or a one-line BuncError naming where", () => {
    const seeds = [richConfig(), defaultSpec({ rootless: true }), (() => { const c: any = defaultSpec(); c.linux.seccomp = defaultSeccompProfile(); return c; })()];
    let rejected = 0;
    const failures: string[] = [];
    for (let seed = 1; seed <= 5000; seed++) {
      const json = mutateConfig(seeds[seed % seeds.length], seed);
      let m: string;
      try {
        m = outcome(json);
      } catch (e: any) {
        failures.push(`seed ${seed}: ${e.message.split("\n")[0]}`);
        continue;
      }
      if (m === "ok") continue;
      rejected++;
      if (m.includes("\n") || m.length > 600 || !m.startsWith("invalid config.json: ")) failures.push(`seed ${seed}: bad message ${JSON.stringify(m.slice(0, 200))}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
    // The mutations must mostly hit something that matters, or this test tests nothing.
    expect(rejected).toBeGreaterThan(2500);
  });

  test("2000 documents of pure garbage", () => {
    const r = rng(42);
    for (let i = 0; i < 2000; i++) {
      const m = outcome(garbage(r, 6));
      expect(m).not.toBe("ok");
      expect(m).not.toContain("\n");
    }
  });

  test("prototype keys are plain data", () => {
    const c = richConfig();
    const evil = JSON.parse(`{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}`);
    Object.assign(c, evil);
    c.process = { ...c.process, ...JSON.parse(`{"__proto__": {"args": ["evil"]}}`) };
    outcome(c);
    expect(({} as any).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty("args")).toBe(false);
  });

  test("text that is not JSON, truncated JSON and huge nesting are one-line errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-fuzz-"));
    try {
      const valid = JSON.stringify(richConfig());
      const r = rng(7);
      const texts = ["", "\u0000", "[".repeat(100_000), "{".repeat(50_000), `{"a":${"[".repeat(20_000)}1${"]".repeat(20_000)}}`, "\ufeff" + valid, valid.replace(/:/g, "")];
      for (let i = 0; i < 300; i++) texts.push(valid.slice(0, Math.floor(r() * valid.length)));
      for (const t of texts) {
        const f = join(dir, "config.json");
        writeFileSync(f, t);
        try {
          readConfig(f);
        } catch (e) {
          expect(e).toBeInstanceOf(BuncError);
          expect((e as Error).message).not.toContain("\n");
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("path rules", () => {
  const err = (edit: (c: any) => void) => {
    const c = richConfig();
    edit(c);
    return outcome(c);
  };
  test("hook paths must be absolute", () => {
    expect(err((c) => (c.hooks.prestart[0].path = "bin/true"))).toBe("invalid config.json: hooks.prestart[0].path: must be an absolute path");
    expect(err((c) => (c.hooks.poststop[0].path = ""))).toContain("hooks.poststop[0].path: must be an absolute path");
    expect(err((c) => (c.hooks.poststop[0].path = "./x"))).toContain("hooks.poststop[0].path");
  });
  test("process.cwd must be absolute", () => {
    expect(err((c) => (c.process.cwd = "tmp"))).toBe("invalid config.json: process.cwd: must be an absolute path");
    expect(err((c) => (c.process.cwd = ""))).toContain("process.cwd");
    expect(err((c) => delete c.process.cwd)).toContain("process.cwd");
  });
  test("mount destinations must not be empty; masked and read-only paths must be absolute", () => {
    expect(err((c) => (c.mounts[0].destination = ""))).toBe("invalid config.json: mounts[0].destination: must not be empty");
    expect(err((c) => (c.linux.maskedPaths = ["proc/kcore"]))).toContain("linux.maskedPaths[0]: must be an absolute path");
    expect(err((c) => (c.linux.readonlyPaths = ["../x"]))).toContain("linux.readonlyPaths[0]: must be an absolute path");
    expect(err((c) => (c.linux.devices[0].path = "dev/fuse"))).toContain("linux.devices[0].path");
    expect(err((c) => (c.linux.namespaces[0].path = "proc/1/ns/pid"))).toBe("invalid config.json: linux.namespaces[0].path: must be an absolute path");
  });
  // runc's run.bats "joining existing container namespaces" gives the mount namespace "path": "".
  test("an empty namespace path is no path (as runc and crun read it)", () => {
    const c = richConfig();
    c.linux.namespaces[0].path = "";
    expect(outcome(c)).toBe("ok");
    expect(parseConfig(c).linux.namespaces[0]!.path).toBeUndefined();
  });
  test("sysctl keys cannot climb out of /proc/sys", () => {
    expect(err((c) => (c.linux.sysctl = { "../../sysrq-trigger": "b" }))).toContain("linux.sysctl");
    expect(err((c) => (c.linux.sysctl = { "kernel/../../../etc": "b" }))).toContain("linux.sysctl");
  });
});

describe("container ids", () => {
  const bad = ["", "../x", "a/b", "/abs", ".", "..", "-x", "a b", "a\nb", "a\u0000b", "é", "💥", "x".repeat(1025)];
  for (const id of bad)
    test(`rejects ${JSON.stringify(id.length > 20 ? id.slice(0, 10) + "…" : id)}`, () => {
      let e: any;
      try {
        validateId(id);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(BuncError);
      expect(e.message).toMatch(/container id/);
      expect(e.message.length).toBeLessThan(300); // one short line, even for a long id
      expect(e.message).not.toContain("\n");
    });
  test("accepts ordinary ids", () => {
    for (const id of ["a", "web-1", "x.y_z+1", "A".repeat(200), "0123456789abcdef".repeat(4)]) expect(validateId(id)).toBe(id);
  });
});
