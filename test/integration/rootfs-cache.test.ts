// Needs root. `run --rootfs <tarball>` keeps the unpacked tree in a cache keyed by the
// tarball's digest; each run writes into its own overlay, never into the cache or another
// run; `cache ls` and `cache prune` manage it; nothing stays mounted.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot, mountsUnder } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";

const sb = fileSandbox();

describe.skipIf(!isRoot)("rootfs cache of one-shot runs (root)", () => {
  const cache = join(sb.dir, "cache");
  const env = { BUNC_CACHE_DIR: cache };

  test("the second run uses the cached tree; runs do not see each other's files", () => {
    const first = sb.run(["run", "--rootfs", alpineTarball(), "--", "sh", "-c", "echo mine > /written; cat /written"], { env });
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe("mine\n");
    const entries = readdirSync(join(cache, "rootfs")).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(entries).toHaveLength(1);
    // The cache itself is untouched by the run's write.
    expect(existsSync(join(cache, "rootfs", entries[0]!, "rootfs/written"))).toBe(false);
    const second = sb.run(["run", "--rootfs", alpineTarball(), "--", "sh", "-c", "test -e /written && echo leaked || echo clean"], { env });
    expect(second.stdout).toBe("clean\n");
    expect(readdirSync(join(cache, "rootfs")).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual(entries);
    expect(mountsUnder(sb.dir)).toEqual([]);
    expect(mountsUnder(cache)).toEqual([]);
  });

  test("the run's root is a volatile overlay: its unmount does not sync the host's filesystem", () => {
    const r = sb.run(["run", "--rootfs", alpineTarball(), "--", "sh", "-c", "grep '^overlay / ' /proc/mounts"], { env });
    expect(r.stderr).toBe("");
    const kernel = require("node:os").release().split(".").map(Number) as number[];
    // overlayfs learnt volatile in 5.10; older kernels get the plain overlay.
    if (kernel[0]! > 5 || (kernel[0] === 5 && kernel[1]! >= 10)) expect(r.stdout).toMatch(/[,=]volatile[, ]/); // "volatile", or "fsync=volatile" from 6.x
    expect(r.stdout).toMatch(/^overlay \/ overlay /);
  });

  test("a one-shot whose bunc was killed: delete -f removes its scratch bundle and unmounts its overlay", async () => {
    const { BUNC, until } = require("../support/harness");
    const p = Bun.spawn([...BUNC, "--root", sb.root, "run", "--name", "killed1", "--rootfs", alpineTarball(), "--", "sleep", "100"], { env: { ...process.env, ...env }, stdout: "ignore", stderr: "ignore" });
    try {
      await until(() => sb.run(["state", "killed1"]).stdout.includes('"running"'), "the one-shot running");
    } finally {
      p.kill(9); // bunc itself, by the PID this test started; its container stays
      await p.exited;
    }
    expect(readdirSync(sb.root).filter((n) => n.startsWith(".oneshot-"))).toHaveLength(1);
    expect(mountsUnder(sb.root)).not.toEqual([]);
    const d = sb.run(["delete", "-f", "killed1"]);
    expect(d.stderr).toBe("");
    expect(readdirSync(sb.root).filter((n) => n.startsWith(".oneshot-"))).toEqual([]);
    expect(mountsUnder(sb.root)).toEqual([]);
    expect(sb.containers()).toEqual([]);
  });

  test("two first runs at once both succeed and leave one entry", async () => {
    const other = join(sb.dir, "cache2");
    const procs = [0, 1].map(() => Bun.spawn([...require("../support/harness").BUNC, "--root", sb.root, "run", "--rootfs", alpineTarball(), "--", "true"], { env: { ...process.env, BUNC_CACHE_DIR: other }, stdout: "ignore", stderr: "pipe" }));
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0]);
    expect(readdirSync(join(other, "rootfs")).filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(1);
    expect(readdirSync(join(other, "rootfs")).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
  });

  test("cache ls lists the entry; prune --max-size and --all remove it", () => {
    const ls = sb.ok(["cache", "ls"], { env });
    expect(ls).toContain("1 entries");
    expect(sb.ok(["cache", "prune", "--max-size", "1g"], { env })).toContain("removed 0 entries");
    expect(sb.ok(["cache", "prune", "--all"], { env })).toContain("removed 1 entries");
    expect(sb.ok(["cache", "ls"], { env })).toContain("0 entries");
    expect(sb.run(["cache", "prune"], { env }).code).toBe(1);
  });
});
