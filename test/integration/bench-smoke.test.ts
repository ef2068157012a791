// Smoke test of the benchmark (issue 7): `bun scripts/bench.ts --quick --json <tmp>` runs every
// figure against bunc, runc and crun and leaves nothing behind. No timing assertions.
// Root only; runc and crun are installed from Debian when missing, and the test is skipped only
// when that install fails.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const PROJECT = resolve(import.meta.dir, "../..");
const isRoot = process.geteuid?.() === 0;

function haveRuntimes(): boolean {
  if (!isRoot) return false;
  const missing = () => ["runc", "crun"].filter((b) => !Bun.which(b));
  if (!missing().length) return true;
  const apt = (args: string[]) => Bun.spawnSync(["apt-get", ...args], { stdout: "ignore", stderr: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  apt(["install", "-y", ...missing()]);
  if (missing().length) {
    apt(["update"]);
    apt(["install", "-y", ...missing()]);
  }
  return missing().length === 0;
}

const runnable = haveRuntimes() && !!Bun.which("unshare");
const isNum = (x: unknown) => typeof x === "number" && Number.isFinite(x);
const statOk = (s: any) => s && isNum(s.median) && isNum(s.p10) && isNum(s.p90) && s.n > 0;

describe.skipIf(!runnable)("bench --quick", () => {
  test("every figure has numbers and nothing is left behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-bench-smoke-"));
    const out = join(dir, "bench.json");
    const mountsBefore = readFileSync("/proc/self/mountinfo", "utf8");
    try {
      const p = Bun.spawnSync(["bun", join(PROJECT, "scripts/bench.ts"), "--quick", "--json", out], { cwd: PROJECT, stdout: "pipe", stderr: "pipe", timeout: 300_000 });
      const log = p.stdout.toString() + p.stderr.toString();
      expect(p.exitCode, log).toBe(0);
      expect(log).toContain("private mount namespace");
      const j = JSON.parse(readFileSync(out, "utf8"));
      expect(j.error).toBeUndefined();

      const f = j.figures;
      for (const key of ["run", "runSeccomp", "createStartDelete", "state", "concurrent10", "concurrent50"]) {
        for (const rt of ["bunc", "runc", "crun"]) expect(statOk(f[key].results[rt]), `${key} ${rt}`).toBe(true);
        expect(isNum(f[key].ratios["bunc/runc"]) && isNum(f[key].ratios["bunc/crun"]), key).toBe(true);
      }
      // exec: runc and crun always; bunc once its `exec` exists (the figure says whether it does).
      for (const rt of ["runc", "crun"]) expect(statOk(f.exec.results[rt]), `exec ${rt}`).toBe(true);
      if (f.exec.available.bunc) expect(statOk(f.exec.results.bunc), "exec bunc").toBe(true);
      else expect(f.exec.results.bunc).toBeNull();
      // unpack
      for (const who of ["bunc", "gnu-tar", "bunc-library"]) expect(statOk(f.unpack.results[who]), `unpack ${who}`).toBe(true);
      expect(isNum(f.unpack.ratios["bunc/gnu-tar"])).toBe(true);
      // one-shot of a cached tarball vs a prepared bundle
      for (const who of ["oneshot-cached", "prepared-bundle"]) expect(statOk(f.oneShot.results[who]), `oneShot ${who}`).toBe(true);
      expect(isNum(f.oneShot.ratios["cached/prepared"])).toBe(true);
      // an image against podman, when podman is installed, and docker when dockerd is (its own daemon)
      if (Bun.which("podman")) {
        for (const who of ["bunc-cached", "podman-run", "bunc-first", "podman-load-run"]) expect(statOk(f.image.results[who]), `image ${who}`).toBe(true);
        expect(isNum(f.image.ratios["bunc-cached/podman-run"]) && isNum(f.image.ratios["bunc-first/podman-load-run"])).toBe(true);
        expect(log).toContain("(8) docker");
        if (Bun.which("dockerd")) {
          expect(log).toContain("(8) docker: its own dockerd");
          expect(statOk(f.image.results["docker-run"]), "image docker-run").toBe(true);
          expect(isNum(f.image.ratios["bunc-cached/docker-run"])).toBe(true);
        }
      }
      // concurrency: all lifecycles counted, linearity ratio present
      for (const rt of ["bunc", "runc", "crun"]) {
        expect(f.concurrent10.succeeded[rt]).toMatch(/^\d+\/\d+$/);
        expect(f.concurrent50.succeeded[rt]).toMatch(/^\d+\/\d+$/);
        expect(isNum(f.concurrent50.linearity[rt]), `linearity ${rt}`).toBe(true);
      }
      // memory: peak RSS per command and the created container's memory
      for (const cmd of ["run", "create", "start", "state", "delete", "--version"]) {
        for (const rt of ["bunc", "runc", "crun"]) expect(statOk(f.memory.peakRss[cmd].results[rt]), `peak RSS ${cmd} ${rt}`).toBe(true);
      }
      for (const k of ["rss", "pss"]) for (const rt of ["bunc", "runc", "crun"]) expect(statOk(f.memory.createdContainer[k].results[rt]), `${k} ${rt}`).toBe(true);
      // memory limit and start-up budget are reported
      for (const rt of ["bunc", "runc", "crun"]) expect(typeof j.memoryLimit[rt].ok).toBe("boolean");
      // Both page-cache states (scripts/bench/page-cache.ts), times and peak RSS.
      for (const k of ["bun -e 0", "bunc --version", "bunc state"]) for (const key of [k, `${k} (faulted)`]) {
        expect(statOk(j.startup.results[key]), key).toBe(true);
        expect(j.startup.rssMiB[key].median, key).toBeGreaterThan(1);
      }

      // Nothing left: no containers under the private roots, no cgroups, scratch dir gone, no mounts.
      expect(j.cleanup.containersLeft).toEqual([]);
      expect(j.cleanup.cgroupsLeft).toEqual([]);
      expect(j.cleanup.scratchRemoved).toBe(true);
      expect(existsSync(j.cleanup.scratch)).toBe(false); // held the private roots and bundles
      expect(j.cleanup.hostMounts).toEqual([]);
      const mountsAfter = readFileSync("/proc/self/mountinfo", "utf8");
      expect(mountsAfter.includes("cgroup.controllers")).toBe(mountsBefore.includes("cgroup.controllers"));
      expect(mountsAfter.split("\n").filter((l) => l.includes("bunc-bench-"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
