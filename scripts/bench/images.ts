// Figure (8) of scripts/bench.ts: running an image. The Alpine minirootfs is imported into a
// private podman store (under the bench's scratch directory) and saved as an OCI archive;
// then, alternating:
// - seen before: `bunc run --image oci.tar -- /bin/true` with its layers cached, against
//   `podman run --rm` of the image already in podman's store (and `docker run --rm` when a
//   docker daemon answers);
// - first run: bunc with an empty cache (unpack + run), against `podman load` + `podman run --rm`
//   after `podman rmi`.
// podman's store and its containers are removed at the end, even on failure.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ratio, stat, type Stat } from "./stats";

export interface ImageFigure {
  label: string;
  unit: "ms";
  results: Record<string, Stat | null>;
  ratios: Record<string, number | null>;
  docker: string;
  podman: string;
}

interface Ctx { bunc: string; buncRoot: string; base: string; tarball: string; runs: number; checkInterrupt: () => void; log: (s: string) => void }

function timed(cmd: string[], env?: Record<string, string | undefined>): number {
  const t = performance.now();
  const p = Bun.spawnSync({ cmd, env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t;
  if (p.exitCode !== 0) throw new Error(`${cmd.slice(0, 3).join(" ")} ... exited ${p.exitCode}: ${p.stderr.toString().trim().slice(0, 400)}`);
  return ms;
}

export function imageFigure(c: Ctx): ImageFigure | { skipped: string } {
  if (!Bun.which("podman")) return { skipped: "podman is not installed" };
  const dir = join(c.base, "images");
  const conf = join(dir, "containers.conf");
  mkdirSync(join(dir, "tmp"), { recursive: true });
  writeFileSync(conf, `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "${join(dir, "events.log")}"\ntmp_dir = "${join(dir, "tmp")}"\n[network]\nnetwork_config_dir = "${join(dir, "networks")}"\n`);
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const podman = ["podman", "--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--tmpdir", join(dir, "tmp"), "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file"];
  const image = "localhost/bench-alpine:latest";
  const archive = join(dir, "alpine-oci.tar");
  // This host cannot raise the hard nofile limit to podman's default of 1048576 (as test/support/engines.ts).
  const run = [...podman, "run", "--rm", "--network", "none", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768", image, "/bin/true"];
  const cache = join(dir, "bunc-cache");
  const bunc = (cacheDir: string) => timed([c.bunc, "--root", c.buncRoot, "run", "--image", archive, "--", "/bin/true"], { ...process.env, BUNC_CACHE_DIR: cacheDir });
  try {
    timed([...podman, "import", c.tarball, image], env);
    timed([...podman, "save", "--format", "oci-archive", "-o", archive, image], env);
    let docker = "docker is not installed: skipped";
    let dockerRun: (() => number) | undefined;
    if (Bun.which("docker")) {
      if (Bun.spawnSync(["docker", "info"], { stdout: "ignore", stderr: "ignore", timeout: 10_000 }).exitCode === 0) {
        timed(["docker", "load", "-i", archive]);
        dockerRun = () => timed(["docker", "run", "--rm", "--network", "none", image, "/bin/true"]);
        docker = "docker daemon answers";
      } else docker = "docker is installed but its daemon does not answer (docker info failed): skipped";
    }
    c.log(`bench: (8) ${docker}`);

    // Seen before: one warm-up each (bunc fills its cache), then alternating rounds.
    bunc(cache);
    timed(run, env);
    dockerRun?.();
    // Seen before means the steady state: the first unpack's writeback (thousands of new files,
    // podman's import too) done. Measured while it was pending, each run's metadata writes
    // under --root on this ext4 disk waited on the journal: bunc 42.6 ms a run, 26.2 after `sync`.
    Bun.spawnSync(["sync"]);
    const seen: Record<string, number[]> = { "bunc-cached": [], "podman-run": [], ...(dockerRun ? { "docker-run": [] } : {}) };
    for (let i = 0; i < c.runs; i++) {
      c.checkInterrupt();
      seen["bunc-cached"]!.push(bunc(cache));
      seen["podman-run"]!.push(timed(run, env));
      if (dockerRun) seen["docker-run"]!.push(dockerRun());
    }
    // First run of a new image: bunc from an empty cache; podman load + run after rmi.
    const first: Record<string, number[]> = { "bunc-first": [], "podman-load-run": [] };
    for (let i = 0; i < Math.min(c.runs, 5); i++) {
      c.checkInterrupt();
      const fresh = join(dir, `bunc-cache-${i}`);
      first["bunc-first"]!.push(bunc(fresh));
      rmSync(fresh, { recursive: true, force: true });
      timed([...podman, "rmi", "-f", image], env);
      first["podman-load-run"]!.push(timed([...podman, "load", "-q", "-i", archive], env) + timed(run, env));
    }
    const results = Object.fromEntries([...Object.entries(seen), ...Object.entries(first)].map(([k, v]) => [k, stat(v)]));
    return {
      label: "(8) an image: one-shot of an image seen before vs `podman run --rm`; first run vs `podman load` + run",
      unit: "ms", results, docker,
      podman: (Bun.spawnSync(["podman", "--version"]).stdout.toString().trim()),
      ratios: {
        "bunc-cached/podman-run": ratio(results["bunc-cached"], results["podman-run"]),
        "bunc-cached/docker-run": results["docker-run"] ? ratio(results["bunc-cached"], results["docker-run"]) : null,
        "bunc-first/podman-load-run": ratio(results["bunc-first"], results["podman-load-run"]),
      },
    };
  } finally {
    Bun.spawnSync([...podman, "rm", "-af", "-t", "0"], { env, stdout: "ignore", stderr: "ignore" });
    Bun.spawnSync([...podman, "rmi", "-af"], { env, stdout: "ignore", stderr: "ignore" });
    for (const l of require("node:fs").readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l: string) => l.split(" ")[4] ?? "").filter((m: string) => m.startsWith(dir)).reverse()) {
      Bun.spawnSync(["umount", "-l", l]);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
