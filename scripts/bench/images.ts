// Figure (8) of scripts/bench.ts: running an image. The Alpine minirootfs is imported into a
// private podman store (under the bench's scratch directory) and saved as an OCI archive;
// then, alternating:
// - seen before: `bunc run --image oci.tar -- /bin/true` with its layers cached, against
//   `podman run --rm` of the image already in podman's store and `docker run --rm` of it loaded
//   into a dockerd the figure starts itself (Debian's docker.io: private data and exec roots and
//   socket under the scratch directory, no bridge, no iptables; stopped by its PID at the end);
// - first run: bunc with an empty cache (unpack + run), against `podman load` + `podman run --rm`
//   after `podman rmi`.
// podman's store, dockerd and their containers are removed at the end, even on failure.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { removeCgroupTree } from "../cgroup-dirs";
import { ratio, stat, type Stat } from "./stats";
import { pidfdOpen, pidfdWait } from "./proc";

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
  // A cgroup parent of the bench's own for podman's and docker's containers, removed at the end
  // (their defaults, libpod_parent and docker, would stay behind on the host).
  const cgroupParent = `/bunc-bench-${basename(c.base)}`;
  const run = [...podman, "run", "--rm", "--network", "none", "--cgroup-parent", cgroupParent, "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768", image, "/bin/true"];
  const cache = join(dir, "bunc-cache");
  let stopDocker = () => {};
  const bunc = (cacheDir: string) => timed([c.bunc, "--root", c.buncRoot, "run", "--image", archive, "--", "/bin/true"], { ...process.env, BUNC_CACHE_DIR: cacheDir });
  try {
    timed([...podman, "import", c.tarball, image], env);
    timed([...podman, "save", "--format", "oci-archive", "-o", archive, image], env);
    let docker = "docker: dockerd is not installed (Debian's docker.io): skipped";
    let dockerRun: (() => number) | undefined;
    if (Bun.which("dockerd") && Bun.which("docker")) {
      const d = startDockerd(join(dir, "docker"));
      stopDocker = d.stop;
      if (d.cli) {
        // docker 20.10 loads docker archives only: the same image saved in that format
        const dockerArchive = join(dir, "alpine-docker.tar");
        timed([...podman, "save", "--format", "docker-archive", "-o", dockerArchive, image], env);
        timed([...d.cli, "load", "-i", dockerArchive]);
        dockerRun = () => timed([...d.cli!, "run", "--rm", "--network", "none", "--cgroup-parent", cgroupParent, image, "/bin/true"]);
        docker = `docker: its own dockerd (${d.version})`;
      } else docker = `docker: its dockerd did not start: skipped (${d.error})`;
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
    stopDocker();
    Bun.spawnSync([...podman, "rm", "-af", "-t", "0"], { env, stdout: "ignore", stderr: "ignore" });
    Bun.spawnSync([...podman, "rmi", "-af"], { env, stdout: "ignore", stderr: "ignore" });
    for (const l of require("node:fs").readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l: string) => l.split(" ")[4] ?? "").filter((m: string) => m.startsWith(dir)).reverse()) {
      Bun.spawnSync(["umount", "-l", l]);
    }
    rmSync(dir, { recursive: true, force: true });
    removeCgroupTree(cgroupParent);
  }
}

/**
 * A dockerd of the figure's own under `root` (its data, exec root, pid file and socket), with no
 * bridge and no iptables. `cli` talks to it; `stop` removes its containers, ends it by its PID
 * (SIGTERM, then SIGKILL after 20 s) and the containerd it started, whose command line names `root`.
 */
function startDockerd(root: string): { cli?: string[]; version?: string; error?: string; stop: () => void } {
  mkdirSync(root, { recursive: true });
  const sock = join(root, "docker.sock");
  const log = join(root, "dockerd.log");
  const out = openSync(log, "a");
  const p = Bun.spawn(["dockerd", "--data-root", join(root, "data"), "--exec-root", join(root, "exec"), "--pidfile", join(root, "dockerd.pid"), "-H", `unix://${sock}`,
    "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--storage-driver", "overlay2"], { stdin: "ignore", stdout: out, stderr: out });
  closeSync(out);
  const cli = ["docker", "-H", `unix://${sock}`];
  // running, not a zombie: nothing reaps dockerd while this synchronous code waits for its socket
  const alive = (pid: number) => { try { return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "utf8")); } catch { return false; } };
  const stop = () => {
    if (existsSync(sock)) {
      const ids = Bun.spawnSync([...cli, "ps", "-aq"], { stderr: "ignore" }).stdout.toString().split("\n").filter(Boolean);
      if (ids.length) Bun.spawnSync([...cli, "rm", "-f", ...ids], { stdout: "ignore", stderr: "ignore" });
    }
    // its containerd, found before dockerd goes (ours only: started with our exec root)
    const theirs = Bun.spawnSync(["pgrep", "-f", join(root, "exec")], { stderr: "ignore" }).stdout.toString().split("\n").map(Number).filter((n) => n > 0 && n !== p.pid);
    const exited = pidfdOpen(p.pid); // its exit is an event to wait for (proc.ts), not a poll
    p.kill("SIGTERM");
    if (!pidfdWait(exited, 20_000)) p.kill("SIGKILL");
    for (const pid of theirs) if (alive(pid)) try { process.kill(pid, "SIGKILL"); } catch {}
  };
  for (let i = 0; i < 120; i++) {
    if (!alive(p.pid)) break;
    if (existsSync(sock)) {
      const v = Bun.spawnSync([...cli, "version", "-f", "{{.Server.Version}}"], { stderr: "ignore" });
      if (v.exitCode === 0) return { cli, version: `dockerd ${v.stdout.toString().trim()}`, stop };
    }
    Bun.sleepSync(250);
  }
  const tail = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").slice(-2).join(" / ").slice(0, 300) : "no log";
  stop();
  return { error: `no answer within 30 s: ${tail}`, stop: () => {} };
}
