// scripts/crun-tests.ts: the suite's TAP lines, the expected failures' list, and the flag
// translation of scripts/crun-tests/runtime.sh (crun's flags to bunc's).
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseLine } from "../../scripts/crun-tests";
import { EXPECTED } from "../../scripts/crun-tests/expected";

describe("crun-tests", () => {
  test("results, skips; other lines are not results", () => {
    expect(parseLine("test_exec.py", "ok 3 - exec-detach-not-exists")).toEqual({ file: "test_exec.py", name: "exec-detach-not-exists", ok: true, skip: false });
    expect(parseLine("test_exec.py", "not ok 14 - exec-getpgrp")).toEqual({ file: "test_exec.py", name: "exec-getpgrp", ok: false, skip: false });
    expect(parseLine("test_start.py", "ok 4 - sd-notify #SKIP")).toEqual({ file: "test_start.py", name: "sd-notify", ok: true, skip: true });
    expect(parseLine("test_mounts.py", "1..27")).toBeUndefined();
    expect(parseLine("test_mounts.py", "Status : FAIL 1 b'...'")).toBeUndefined();
  });
  test("every expected failure names its file and has its reason", () => {
    expect(Object.keys(EXPECTED).length).toBeGreaterThan(0);
    for (const [key, why] of Object.entries(EXPECTED)) {
      expect(key).toMatch(/^test_\w+\.py: \S/);
      expect(why.length).toBeGreaterThan(20);
    }
  });
  test("runtime.sh: --cgroup-manager and --config config.json become bunc's; the rest passes as it is", () => {
    const dir = mkdtempSync(join(tmpdir(), "crun-tests-"));
    try {
      const echo = join(dir, "echo-args");
      writeFileSync(echo, '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\n');
      chmodSync(echo, 0o755);
      const run = (...args: string[]) => Bun.spawnSync([join(import.meta.dir, "../../scripts/crun-tests/runtime.sh"), ...args], { env: { ...process.env, BUNC: echo } }).stdout.toString();
      expect(run("--cgroup-manager", "cgroupfs", "--root", "/r", "run", "--config", "config.json", "--detach", "id")).toBe("[--root][/r][run][--detach][id]");
      expect(run("--cgroup-manager", "systemd", "run", "id")).toBe("[--systemd-cgroup][run][id]");
      expect(run("create", "--config", "config/config.json", "a b")).toBe("[create][--config][config/config.json][a b]");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
