// Smoke test of `bun scripts/bench/rss-maps.ts` (README, Performance): each command's RSS split
// by kind of mapping, read at its exit_group. No figure is asserted, only that every command
// ran, every row has a number, and that nothing is left behind. Root only, and strace.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const PROJECT = resolve(import.meta.dir, "../..");
const runnable = process.geteuid?.() === 0 && !!Bun.which("strace") && existsSync(join(PROJECT, "dist/bunc"));
const scratchDirs = () => readdirSync("/tmp").filter((n) => n.startsWith("bunc-rss-maps-"));

describe.skipIf(!runnable)("bench/rss-maps", () => {
  test("a table of every command's RSS by mapping, and nothing left behind", () => {
    const before = scratchDirs();
    const p = Bun.spawnSync(["bun", join(PROJECT, "scripts/bench/rss-maps.ts")], { cwd: PROJECT, stdout: "pipe", stderr: "pipe", timeout: 180_000 });
    const out = p.stdout.toString();
    expect(p.exitCode, out + p.stderr.toString()).toBe(0);
    const rows = out.trim().split("\n").map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
    expect(rows[0]).toEqual(["MiB at exit_group", "`bun -e 0`", "--version", "create", "start", "state", "exec", "delete", "run"]);
    const row = (name: string) => rows.find((r) => r[0] === name)!.slice(1).map(Number);
    for (const name of ["binary code (r-xp)", "anonymous (heaps, stacks)", "shared libraries", "total", "peak (VmHWM)"]) {
      expect(row(name).every((v) => v > 0), `${name}\n${out}`).toBe(true);
    }
    // Each command's mappings at its end were all counted: their sum is its peak, or just under it.
    row("total").forEach((total, i) => expect(total, out).toBeLessThanOrEqual(row("peak (VmHWM)")[i]! + 0.05));
    // Each is a Bun process: its own code is most of it (a helper it starts is not what was read).
    row("binary code (r-xp)").forEach((code, i) => expect(code, out).toBeGreaterThan(row("total")[i]! / 3));
    expect(scratchDirs()).toEqual(before);
    expect(readdirSync("/sys/fs/cgroup").some((h) => existsSync(`/sys/fs/cgroup/${h}/bunc/rss-maps`))).toBe(false);
  }, 200_000);
});
