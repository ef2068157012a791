#!/usr/bin/env bun
// bunc against runc and crun on one Alpine bundle (issue 7).
//
//   bun scripts/bench.ts [--runs N] [--json out.json] [--quick] [--bunc PATH]
//
// Run as root. Installs runc and crun from Debian when missing, then re-executes itself under
// `unshare -m --propagation private`, where an empty file is bound over
// /sys/fs/cgroup/unified/cgroup.controllers so that crun accepts this host's hybrid cgroup layout;
// all three runtimes run in that namespace. Each figure is measured in alternating order
// (bunc, runc, crun, bunc, ...), with a private --root per runtime under one scratch directory,
// which is swept (`delete --force` of every container) and removed at the end, even on failure.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { alpineTarball } from "./alpine-tarball";
import { defaultSeccompProfile } from "../src/linux/seccomp";
import { cgroupLeftovers, memoryCgroupLimit, memoryHeld, pidfdOpen, pidfdWait } from "./bench/proc";
import { cell, ratio, stat, table, type Stat } from "./bench/stats";
import { imageFigure } from "./bench/images";
import { snapshotBinary } from "./bench/page-cache";

const PROJECT = resolve(import.meta.dir, "..");
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag("--quick");
const RUNS = Number(opt("--runs") ?? (QUICK ? 3 : 20));
const JSON_OUT = opt("--json") ? resolve(opt("--json")!) : undefined;
const BUNC = resolve(opt("--bunc") ?? process.env.BUNC_BIN ?? join(PROJECT, "dist/bunc"));
const IN_NS = process.env.BUNC_BENCH_NS === "1";
const CONTROLLERS = "/sys/fs/cgroup/unified/cgroup.controllers";
const MEM_LIMIT = 6 * 1024 * 1024;

function die(msg: string, code = 1): never {
  console.error(`bench: ${msg}`);
  process.exit(code);
}

if (!Number.isInteger(RUNS) || RUNS < 1) die("--runs needs a positive integer");
if (process.getuid?.() !== 0) die("run as root (containers, mounts, cgroups)");

// ---------------------------------------------------------------------------------------------
// Outer process: prerequisites, then the same script in a private mount namespace.
// ---------------------------------------------------------------------------------------------
if (!IN_NS) {
  const missing = ["runc", "crun"].filter((b) => !Bun.which(b));
  if (missing.length) {
    console.log(`installing ${missing.join(" ")} from Debian ...`);
    const apt = (args: string[]) => Bun.spawnSync(["apt-get", ...args], { stdout: "inherit", stderr: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).exitCode === 0;
    if (!apt(["install", "-y", ...missing])) {
      apt(["update"]);
      if (!apt(["install", "-y", ...missing])) die(`apt-get install -y ${missing.join(" ")} failed`, 3);
    }
  }
  if (!Bun.which("unshare")) die("unshare (util-linux) is needed", 3);
  if (!existsSync("/usr/bin/time")) {
    Bun.spawnSync(["apt-get", "install", "-y", "time"], { stdout: "inherit", stderr: "inherit" });
    if (!existsSync("/usr/bin/time")) die("/usr/bin/time is needed (apt-get install -y time)", 3);
  }
  if (!existsSync(BUNC)) {
    console.log(`${BUNC} is missing; building it ...`);
    if (Bun.spawnSync(["bun", join(PROJECT, "scripts/build.ts")], { stdout: "inherit", stderr: "inherit" }).exitCode !== 0) die("build failed");
  }
  const base = mkdtempSync(join(tmpdir(), "bunc-bench-"));
  process.on("SIGINT", () => {}); // the inner process gets it too and cleans up; we wait for it
  process.on("SIGTERM", () => {});
  const child = Bun.spawnSync(["unshare", "-m", "--propagation", "private", process.execPath, import.meta.path, ...argv], {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, BUNC_BENCH_NS: "1", BUNC_BENCH_BASE: base },
  });
  rmSync(base, { recursive: true, force: true });
  const removed = !existsSync(base);
  const hostMounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(base) || l.includes(CONTROLLERS));
  if (JSON_OUT && existsSync(JSON_OUT)) {
    try {
      const j = JSON.parse(readFileSync(JSON_OUT, "utf8"));
      j.cleanup = { ...j.cleanup, scratch: base, scratchRemoved: removed, hostMounts };
      writeFileSync(JSON_OUT, JSON.stringify(j, null, 2) + "\n");
    } catch {}
  }
  if (!removed) console.error(`bench: could not remove ${base}`);
  if (hostMounts.length) console.error(`bench: mounts left on the host:\n${hostMounts.join("\n")}`);
  process.exit(child.exitCode ?? 1);
}

// ---------------------------------------------------------------------------------------------
// Inner process: in the private mount namespace.
// ---------------------------------------------------------------------------------------------
const BASE = process.env.BUNC_BENCH_BASE!;
const PREFIX = `bb${process.pid.toString(36)}`;
let interrupted = false;
process.on("SIGINT", () => (interrupted = true));
process.on("SIGTERM", () => (interrupted = true));
const checkInterrupt = () => {
  if (interrupted) throw new Error("interrupted");
};

// Snapshots of every binary measured: a rebuild of dist/bunc during the run changes nothing, and
// each binary's page cache is in the same state (bench/page-cache.ts): read in, as right after
// an install. Copies filled by page faults instead (as after a reboot) give the start-up line's
// second half.
const BUNC_BIN = snapshotBinary(BUNC, join(BASE, "bunc"), "read", []);
mkdirSync(join(BASE, "faulted"));
const faulted = (src: string, name: string, firstRun: string[]) => snapshotBinary(src, join(BASE, "faulted", name), "faulted", firstRun);

interface Runtime { name: "bunc" | "runc" | "crun"; bin: string; root: string }
const RUNTIMES: Runtime[] = [
  { name: "bunc", bin: BUNC_BIN, root: join(BASE, "root-bunc") },
  { name: "runc", bin: snapshotBinary(Bun.which("runc")!, join(BASE, "runc"), "read", []), root: join(BASE, "root-runc") },
  { name: "crun", bin: snapshotBinary(Bun.which("crun")!, join(BASE, "crun"), "read", []), root: join(BASE, "root-crun") },
];
const NAMES = RUNTIMES.map((r) => r.name);
for (const rt of RUNTIMES) mkdirSync(rt.root, { recursive: true });
const ERR = join(BASE, "stderr.txt");
const BUN = snapshotBinary(Bun.which("bun") ?? process.execPath, join(BASE, "bun"), "read", []);
const FAULTED = {
  bun: faulted(BUN, "bun", ["-e", "0"]),
  bunc: faulted(BUNC, "bunc", ["--version"]),
  runc: faulted(RUNTIMES[1]!.bin, "runc", ["--version"]),
  crun: faulted(RUNTIMES[2]!.bin, "crun", ["--version"]),
};

interface Res { ms: number; code: number; stdout: string; stderr: string }
/** Run a command synchronously; wall time of the spawn. stdout only when asked (a created container keeps it open). */
function x(cmd: string[], capture = false): Res {
  const fd = openSync(ERR, "w");
  const t0 = performance.now();
  const p = Bun.spawnSync({ cmd, stdin: "ignore", stdout: capture ? "pipe" : "ignore", stderr: fd });
  const ms = performance.now() - t0;
  closeSync(fd);
  const code = p.exitCode ?? 128 + 9;
  return { ms, code, stdout: capture ? (p.stdout?.toString() ?? "") : "", stderr: code !== 0 ? readFileSync(ERR, "utf8").trim() : "" };
}
const rt = (r: Runtime, ...args: string[]) => [r.bin, "--root", r.root, ...args];
function ok(r: Runtime, args: string[], capture = false): Res {
  const res = x(rt(r, ...args), capture);
  if (res.code !== 0) throw new Error(`${r.name} ${args.join(" ")} exited ${res.code}: ${res.stderr.slice(0, 500)}`);
  return res;
}
/** Peak RSS (KiB) of a command and its reaped descendants, by GNU time. */
function peakRss(cmd: string[]): number | null {
  const out = join(BASE, "time.txt");
  const fd = openSync(ERR, "w");
  const p = Bun.spawnSync({ cmd: ["/usr/bin/time", "-f", "%M", "-o", out, ...cmd], stdin: "ignore", stdout: "ignore", stderr: fd });
  closeSync(fd);
  if (p.exitCode !== 0) return null;
  const v = Number(readFileSync(out, "utf8").trim().split("\n").pop());
  return Number.isFinite(v) ? v : null;
}

let seq = 0;
const newId = (r: Runtime, tag: string) => `${PREFIX}-${r.name}-${tag}-${++seq}`;
const pidFile = (id: string) => join(BASE, "pids", `${id}.pid`);
const readPid = (id: string) => Number(readFileSync(pidFile(id), "utf8").trim());
mkdirSync(join(BASE, "pids"), { recursive: true });

// --- the bundles -------------------------------------------------------------------------------
const TARBALL = alpineTarball();
const B_TRUE = join(BASE, "bundle");
const ROOTFS = join(B_TRUE, "rootfs");
function writeBundle(name: string, edit: (c: any) => void): string {
  const dir = join(BASE, name);
  mkdirSync(dir, { recursive: true });
  const c = JSON.parse(readFileSync(join(B_TRUE, "config.json"), "utf8"));
  c.root = { path: ROOTFS, readonly: true };
  edit(c);
  writeFileSync(join(dir, "config.json"), JSON.stringify(c, null, 2));
  return dir;
}

// --- results -----------------------------------------------------------------------------------
type PerRuntime<T> = Partial<Record<string, T>>;
interface Figure { label: string; unit: string; results: PerRuntime<Stat | null>; ratios: Record<string, number | null>; [k: string]: unknown }
const figures: Record<string, Figure> = {};
const notes: string[] = [];
function lifecycleFigure(key: string, label: string, samples: PerRuntime<number[]>, unit = "ms", extra: Record<string, unknown> = {}) {
  const results: PerRuntime<Stat | null> = {};
  for (const n of NAMES) results[n] = samples[n]?.length ? stat(samples[n]!) : null;
  figures[key] = { label, unit, results, ratios: { "bunc/runc": ratio(results.bunc, results.runc), "bunc/crun": ratio(results.bunc, results.crun) }, ...extra };
}

/** Alternating measurement: one warm-up each, then `runs` rounds of bunc, runc, crun. */
function alternate(runs: number, runtimes: Runtime[], once: (r: Runtime) => number): PerRuntime<number[]> {
  const out: PerRuntime<number[]> = {};
  for (const r of runtimes) once(r);
  for (let i = 0; i < runs; i++) {
    for (const r of runtimes) {
      checkInterrupt();
      (out[r.name] ??= []).push(once(r));
    }
  }
  return out;
}

const log = (s: string) => console.log(s);

// ---------------------------------------------------------------------------------------------
let failure: unknown;
const emptyFile = join(BASE, "empty");
let boundControllers = false;
const buncExec = () => x([BUNC_BIN, "exec", "--help"]).code === 0;
let execAvailable = false;
const memoryLimit: Record<string, unknown> = {};
const startup: Record<string, unknown> = {};
const t0 = Date.now();

try {
  writeFileSync(emptyFile, "");
  if (existsSync(CONTROLLERS)) {
    const m = x(["mount", "--bind", emptyFile, CONTROLLERS]);
    if (m.code !== 0) throw new Error(`bind mount over ${CONTROLLERS} failed: ${m.stderr}`);
    boundControllers = true;
    notes.push(`All runtimes run in a private mount namespace (unshare -m --propagation private) with an empty file bound over ${CONTROLLERS}, so that crun accepts this host's hybrid cgroup layout.`);
  } else notes.push(`${CONTROLLERS} does not exist here; all runtimes still run in a private mount namespace.`);
  log(`bench: ${notes[0]}`);

  // Bundle: `bunc bundle` unpacks, then /bin/true with terminal false.
  ok(RUNTIMES[0]!, ["bundle", TARBALL, B_TRUE, "--", "/bin/true"]);
  {
    const c = JSON.parse(readFileSync(join(B_TRUE, "config.json"), "utf8"));
    c.process.terminal = false;
    c.process.args = ["/bin/true"];
    c.root = { path: ROOTFS, readonly: true };
    writeFileSync(join(B_TRUE, "config.json"), JSON.stringify(c, null, 2));
  }
  const B_SLEEP = writeBundle("bundle-sleep", (c) => (c.process.args = ["sleep", "1000000"]));
  const B_MEM = writeBundle("bundle-mem", (c) => ((c.linux.resources ??= {}).memory = { limit: MEM_LIMIT }));
  const B_MEMSLEEP = writeBundle("bundle-memsleep", (c) => {
    c.process.args = ["sleep", "1000000"];
    (c.linux.resources ??= {}).memory = { limit: MEM_LIMIT };
  });
  execAvailable = buncExec();
  log(`bench: ${RUNS} runs per figure${QUICK ? " (quick)" : ""}; bunc exec ${execAvailable ? "available" : "not available (figure 3 for runc and crun only)"}`);

  // (1) run /bin/true + delete
  log("bench: (1) run /bin/true + delete");
  lifecycleFigure("run", "(1) run /bin/true + delete", alternate(RUNS, RUNTIMES, (r) => {
    const id = newId(r, "run");
    const a = ok(r, ["run", "-b", B_TRUE, id]);
    const d = x(rt(r, "delete", "--force", id)); // runc/crun/bunc `run` already removed it; this is the caller's cleanup
    return a.ms + d.ms;
  }));

  // (1s) the same with podman's default seccomp profile: what compiling and installing it costs
  // (a measurement, here rather than as a threshold in the tests, which run on loaded machines).
  const B_SECCOMP = writeBundle("bundle-seccomp", (c) => (c.linux.seccomp = defaultSeccompProfile({ capabilities: c.process.capabilities.bounding })));
  log("bench: (1s) run /bin/true with podman's seccomp profile + delete");
  lifecycleFigure("runSeccomp", "(1s) run /bin/true with seccomp + delete", alternate(RUNS, RUNTIMES, (r) => {
    const id = newId(r, "runsc");
    const a = ok(r, ["run", "-b", B_SECCOMP, id]);
    const d = x(rt(r, "delete", "--force", id));
    return a.ms + d.ms;
  }));

  // (2) create + start + wait for exit + delete, with a per-step breakdown
  log("bench: (2) create + start + wait + delete");
  const steps: Record<string, PerRuntime<number[]>> = { create: {}, start: {}, wait: {}, delete: {} };
  lifecycleFigure("createStartDelete", "(2) create + start + wait + delete", alternate(RUNS, RUNTIMES, (r) => {
    const id = newId(r, "csd");
    const c = ok(r, ["create", "-b", B_TRUE, "--pid-file", pidFile(id), id]);
    const fd = pidfdOpen(readPid(id));
    const s = ok(r, ["start", id]);
    const tw = performance.now();
    if (!pidfdWait(fd)) throw new Error(`${r.name}: container ${id} did not exit`);
    const w = performance.now() - tw;
    const d = ok(r, ["delete", id]);
    for (const [k, v] of [["create", c.ms], ["start", s.ms], ["wait", w], ["delete", d.ms]] as const) (steps[k]![r.name] ??= []).push(v);
    return c.ms + s.ms + w + d.ms;
  }));
  figures.createStartDelete!.steps = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([n, xs]) => [n, stat(xs!)]))]));

  // (3) exec and (4) state into a running container; start-up budget alongside.
  log("bench: (3) exec /bin/true, (4) state, start-up budget");
  /** One started container of `bundle` per runtime: runtime name -> container id. */
  const startEach = (runtimes: Runtime[], bundle: string, tag: string): Record<string, string> => {
    const ids: Record<string, string> = {};
    for (const r of runtimes) {
      const id = newId(r, tag);
      ok(r, ["create", "-b", bundle, id]);
      ok(r, ["start", id]);
      ids[r.name] = id;
    }
    return ids;
  };
  const running = startEach(RUNTIMES, B_SLEEP, "sleep");
  const execRts = RUNTIMES.filter((r) => r.name !== "bunc" || execAvailable);
  lifecycleFigure("exec", "(3) exec /bin/true", alternate(RUNS, execRts, (r) => ok(r, ["exec", running[r.name]!, "/bin/true"]).ms), "ms", {
    available: Object.fromEntries(NAMES.map((n) => [n, n !== "bunc" || execAvailable])),
  });
  // (3s) exec into a container with podman's seccomp profile: the exec'd process gets the
  // container's filter (bunc and crun install the one compiled at create; runc compiles it again).
  {
    const B_SLEEP_SECCOMP = writeBundle("bundle-sleep-seccomp", (c) => {
      c.process.args = ["sleep", "1000000"];
      c.linux.seccomp = defaultSeccompProfile({ capabilities: c.process.capabilities.bounding });
    });
    const withProfile = startEach(execRts, B_SLEEP_SECCOMP, "sleepsc");
    try {
      lifecycleFigure("execSeccomp", "(3s) exec /bin/true, podman's seccomp profile", alternate(RUNS, execRts, (r) => ok(r, ["exec", withProfile[r.name]!, "/bin/true"]).ms));
    } finally {
      for (const r of execRts) x(rt(r, "delete", "--force", withProfile[r.name]!));
    }
  }
  lifecycleFigure("state", "(4) state of a running container", alternate(RUNS, RUNTIMES, (r) => {
    const s = ok(r, ["state", running[r.name]!], true);
    if (JSON.parse(s.stdout).status !== "running") throw new Error(`${r.name} state: not running: ${s.stdout}`);
    return s.ms;
  }));
  {
    const subjects: [string, string[]][] = [
      ["bun -e 0", [BUN, "-e", "0"]],
      ["bunc --version", [BUNC_BIN, "--version"]],
      ["bunc state", rt(RUNTIMES[0]!, "state", running.bunc!)],
      ["runc --version", [RUNTIMES[1]!.bin, "--version"]],
      ["crun --version", [RUNTIMES[2]!.bin, "--version"]],
    ];
    const faultedSubjects: [string, string[]][] = [
      ["bun -e 0", [FAULTED.bun, "-e", "0"]],
      ["bunc --version", [FAULTED.bunc, "--version"]],
      ["bunc state", [FAULTED.bunc, "--root", RUNTIMES[0]!.root, "state", running.bunc!]],
      ["runc --version", [FAULTED.runc, "--version"]],
      ["crun --version", [FAULTED.crun, "--version"]],
    ];
    const all = [...subjects, ...faultedSubjects.map(([k, c]) => [`${k} (faulted)`, c] as [string, string[]])];
    const samples: Record<string, number[]> = {};
    for (const [, cmd] of all) x(cmd, true);
    for (let i = 0; i < Math.max(RUNS, QUICK ? 3 : 30); i++) {
      for (const [name, cmd] of all) {
        checkInterrupt();
        const res = x(cmd, true);
        if (res.code !== 0) throw new Error(`${cmd.join(" ")} exited ${res.code}: ${res.stderr}`);
        (samples[name] ??= []).push(res.ms);
      }
    }
    const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stat(v)]));
    // Peak RSS in both page-cache states: the target compares each command with `bun -e 0`'s.
    const rssMiB: Record<string, Stat> = {};
    for (const [name, cmd] of all) {
      const v: number[] = [];
      for (let i = 0; i < (QUICK ? 1 : 3); i++) v.push((peakRss(cmd) ?? NaN) / 1024);
      rssMiB[name] = stat(v);
    }
    const r = (a: string, b: string) => ratio(results[a], results[b]);
    Object.assign(startup, {
      label: "start-up budget (median wall time of the command)",
      unit: "ms",
      target: 1.5,
      results,
      rssMiB,
      ratios: {
        "bunc --version / bun -e 0": r("bunc --version", "bun -e 0"),
        "bunc state / bun -e 0": r("bunc state", "bun -e 0"),
        "bunc --version / bun -e 0 (faulted)": r("bunc --version (faulted)", "bun -e 0 (faulted)"),
        "bunc state / bun -e 0 (faulted)": r("bunc state (faulted)", "bun -e 0 (faulted)"),
      },
    });
  }

  // (7a) peak RSS of each command, and (7b) memory a created-but-not-started container holds.
  log("bench: (7) peak RSS per command, memory of a created container");
  const rssRuns = QUICK ? 1 : 3;
  const rss: Record<string, PerRuntime<number[]>> = {};
  const addRss = (cmd: string, r: Runtime, v: number | null) => {
    if (v !== null) (rss[cmd]![r.name] ??= []).push(v / 1024);
  };
  for (const k of ["run", "create", "start", "state", "exec", "delete", "--version"]) rss[k] = {};
  const held: Record<string, PerRuntime<number[]>> = { rss: {}, pss: {}, anonymous: {}, processes: {} };
  for (let i = 0; i < rssRuns; i++) {
    for (const r of RUNTIMES) {
      checkInterrupt();
      const id = newId(r, "rss");
      addRss("run", r, peakRss(rt(r, "run", "-b", B_TRUE, id)));
      x(rt(r, "delete", "--force", id));
      addRss("state", r, peakRss(rt(r, "state", running[r.name]!)));
      if (r.name !== "bunc" || execAvailable) addRss("exec", r, peakRss(rt(r, "exec", running[r.name]!, "/bin/true")));
      addRss("--version", r, peakRss([r.bin, "--version"]));
      const cid = newId(r, "held");
      addRss("create", r, peakRss(rt(r, "create", "-b", B_TRUE, "--pid-file", pidFile(cid), cid)));
      await Bun.sleep(50); // let the created init settle
      const m = memoryHeld(readPid(cid));
      (held.rss![r.name] ??= []).push(m.rssKiB / 1024);
      (held.pss![r.name] ??= []).push(m.pssKiB / 1024);
      (held.anonymous![r.name] ??= []).push(m.anonKiB / 1024);
      (held.processes![r.name] ??= []).push(m.processes);
      const fd = pidfdOpen(readPid(cid));
      addRss("start", r, peakRss(rt(r, "start", cid)));
      pidfdWait(fd);
      addRss("delete", r, peakRss(rt(r, "delete", cid)));
    }
  }
  const perRt = (m: PerRuntime<number[]>) => Object.fromEntries(NAMES.map((n) => [n, m[n]?.length ? stat(m[n]!) : null]));
  const rssFig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rss)) {
    const results = perRt(v);
    rssFig[k] = { results, ratios: { "bunc/runc": ratio(results.bunc, results.runc), "bunc/crun": ratio(results.bunc, results.crun) } };
  }
  const heldFig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(held)) {
    const results = perRt(v);
    heldFig[k] = { results, ratios: { "bunc/runc": ratio(results.bunc, results.runc), "bunc/crun": ratio(results.bunc, results.crun) } };
  }
  figures.memory = {
    label: "(7) peak RSS per command (GNU time %M) and memory held by a created, not started container (smaps_rollup of its init and descendants)",
    unit: "MiB",
    results: (rssFig.run as any).results,
    ratios: (rssFig.run as any).ratios,
    peakRss: rssFig,
    createdContainer: heldFig,
  };

  // Stop the running containers of (3)/(4).
  for (const r of RUNTIMES) x(rt(r, "delete", "--force", running[r.name]!));

  // (5) unpack: `bunc bundle` (full CLI) vs GNU tar -xzf, same filesystem; the library in-process for reference.
  // (5t) the same on a tmpfs (mounted in this private mount namespace): the unpacking's own work,
  // without the disk, whose writeback and discards move (5) by more than the unpackers differ.
  const { unpackRootfs } = await import("../src/bundle");
  const unpackFigure = async (dir: string, label: string) => {
    const samples: Record<string, number[]> = { bunc: [], "gnu-tar": [], "bunc-library": [] };
    let k = 0;
    const once = async (who: string) => {
      const d = join(dir, `${who}-${++k}`);
      let ms: number;
      if (who === "bunc") ms = ok(RUNTIMES[0]!, ["bundle", TARBALL, d]).ms;
      else if (who === "gnu-tar") {
        mkdirSync(d);
        const res = x(["tar", "-xzf", TARBALL, "-C", d]);
        if (res.code !== 0) throw new Error(`tar: ${res.stderr}`);
        ms = res.ms;
      } else {
        const t = performance.now();
        await unpackRootfs(TARBALL, d);
        ms = performance.now() - t;
      }
      rmSync(d, { recursive: true, force: true });
      return ms;
    };
    for (const w of Object.keys(samples)) await once(w);
    for (let i = 0; i < RUNS; i++) for (const w of Object.keys(samples)) {
      checkInterrupt();
      samples[w]!.push(await once(w));
    }
    const results = Object.fromEntries(Object.entries(samples).map(([n, v]) => [n, stat(v)]));
    return {
      label,
      unit: "ms",
      results,
      ratios: { "bunc/gnu-tar": ratio(results.bunc, results["gnu-tar"]), "bunc-library/gnu-tar": ratio(results["bunc-library"], results["gnu-tar"]) },
      peakRssMiB: {
        bunc: (peakRss([BUNC_BIN, "bundle", TARBALL, join(dir, "rss-bunc")]) ?? NaN) / 1024,
        "gnu-tar": (mkdirSync(join(dir, "rss-tar")), (peakRss(["tar", "-xzf", TARBALL, "-C", join(dir, "rss-tar")]) ?? NaN) / 1024),
      },
    };
  };
  log("bench: (5) unpack the Alpine tarball");
  {
    const dir = join(BASE, "unpack");
    mkdirSync(dir);
    figures.unpack = await unpackFigure(dir, "(5) unpack Alpine minirootfs: `bunc bundle` CLI vs GNU tar -xzf (same filesystem)");
    rmSync(dir, { recursive: true, force: true });
    const tmpfs = join(BASE, "unpack-tmpfs");
    mkdirSync(tmpfs);
    if (x(["mount", "-t", "tmpfs", "-o", "size=256m", "bunc-bench", tmpfs]).code === 0) {
      try {
        figures.unpackTmpfs = await unpackFigure(tmpfs, "(5t) the same on a tmpfs");
      } finally {
        x(["umount", tmpfs]);
      }
    } else notes.push("(5t) no tmpfs could be mounted: left out");
    rmSync(tmpfs, { recursive: true, force: true });
  }

  // (5b) a one-shot of a tarball seen before: the cached tree under a fresh overlay, against
  // `run` of a bundle prepared beforehand (bunc only: runc and crun have no one-shot).
  log("bench: (5b) one-shot run --rootfs <tarball> (cached) vs run of a prepared bundle");
  {
    const bunc = RUNTIMES.find((r) => r.name === "bunc")!;
    const cache = join(BASE, "rootfs-cache");
    const env = { ...process.env, BUNC_CACHE_DIR: cache };
    const oneShot = () => {
      const t = performance.now();
      const p = Bun.spawnSync({ cmd: rt(bunc, "run", "--rootfs", TARBALL, "--", "/bin/true"), env, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      if (p.exitCode !== 0) throw new Error(`bunc run --rootfs exited ${p.exitCode}`);
      return performance.now() - t;
    };
    const first = oneShot(); // unpacks into the cache
    // "Seen before" is the steady state: the unpack's writeback done first (scripts/bench/images.ts says why).
    Bun.spawnSync(["sync"]);
    const samples: Record<string, number[]> = { "oneshot-cached": [], "prepared-bundle": [] };
    for (let i = 0; i < RUNS; i++) {
      checkInterrupt();
      samples["oneshot-cached"]!.push(oneShot());
      const id = newId(bunc, "prep");
      samples["prepared-bundle"]!.push(ok(bunc, ["run", "-b", B_TRUE, id]).ms + x(rt(bunc, "delete", "--force", id)).ms);
    }
    const results = Object.fromEntries(Object.entries(samples).map(([n, v]) => [n, stat(v)]));
    figures.oneShot = {
      label: "(5b) one-shot `run --rootfs <tarball>` with the cache vs `run` of a prepared bundle (+ delete)",
      unit: "ms", results, firstRunMs: first,
      ratios: { "cached/prepared": ratio(results["oneshot-cached"], results["prepared-bundle"]) },
    };
    rmSync(cache, { recursive: true, force: true });
  }

  // (8) an image (OCI archive) against podman and docker (its own dockerd): scripts/bench/images.ts.
  log("bench: (8) run an image: bunc cached / first vs podman run / podman load + run");
  {
    const bunc = RUNTIMES.find((r) => r.name === "bunc")!;
    const f = imageFigure({ bunc: bunc.bin, buncRoot: bunc.root, base: BASE, tarball: TARBALL, runs: RUNS, checkInterrupt, log });
    if ("skipped" in f) notes.push(`(8) skipped: ${f.skipped}`);
    else figures.image = f as unknown as Figure;
  }

  // (6) N containers created concurrently, then started (concurrently), waited for, deleted (concurrently).
  log("bench: (6) concurrent lifecycles (10 and 50)");
  const conc = async (r: Runtime, n: number) => {
    const ids = Array.from({ length: n }, () => newId(r, `c${n}`));
    const all = async (args: (id: string) => string[]) => {
      const t = performance.now();
      const codes = await Promise.all(ids.map((id) => {
        const fd = openSync(join(BASE, "pids", `${id}.err`), "a");
        const p = Bun.spawn({ cmd: rt(r, ...args(id)), stdin: "ignore", stdout: "ignore", stderr: fd }); // appends: errors of every phase
        return p.exited.finally(() => closeSync(fd));
      }));
      return { ms: performance.now() - t, failed: codes.filter((c) => c !== 0).length };
    };
    const c = await all((id) => ["create", "-b", B_TRUE, "--pid-file", pidFile(id), id]);
    const fds = ids.map((id) => (existsSync(pidFile(id)) ? pidfdOpen(readPid(id)) : -1));
    const s = await all((id) => ["start", id]);
    const tw = performance.now();
    const waited = fds.map((fd) => pidfdWait(fd, 20_000)).filter((b) => !b).length;
    const w = performance.now() - tw;
    const d = await all((id) => ["delete", "--force", id]);
    const failed = Math.max(c.failed, s.failed, d.failed, waited);
    if (failed) {
      const errs = ids.map((id) => { try { return readFileSync(join(BASE, "pids", `${id}.err`), "utf8").trim(); } catch { return ""; } }).filter(Boolean);
      notes.push(`(6) ${r.name} with ${n}: ${failed} of ${n} lifecycles failed (create ${c.failed}, start ${s.failed}, not exited ${waited}, delete ${d.failed})${errs.length ? `: ${errs[0]!.slice(0, 300)}` : ""}`);
    }
    return { ms: c.ms + s.ms + w + d.ms, ok: n - failed, create: c.ms, start: s.ms, wait: w, delete: d.ms };
  };
  const concRuns = QUICK ? 1 : 3;
  const concResults: Record<number, Record<string, { ms: number[]; ok: number; total: number; phases: Record<string, number[]> }>> = { 10: {}, 50: {} };
  for (const r of RUNTIMES) await conc(r, 5); // warm-up
  for (let i = 0; i < concRuns; i++) {
    for (const n of [10, 50]) {
      for (const r of RUNTIMES) {
        checkInterrupt();
        const res = await conc(r, n);
        const e = (concResults[n]![r.name] ??= { ms: [], ok: 0, total: 0, phases: { create: [], start: [], wait: [], delete: [] } });
        e.ms.push(res.ms);
        e.ok += res.ok;
        e.total += n;
        for (const ph of ["create", "start", "wait", "delete"] as const) e.phases[ph]!.push(res[ph]);
      }
    }
  }
  for (const n of [10, 50]) {
    const samples = Object.fromEntries(Object.entries(concResults[n]!).map(([k, v]) => [k, v.ms]));
    lifecycleFigure(`concurrent${n}`, `(6) ${n} concurrent create, then start, wait, delete (total)`, samples, "ms", {
      succeeded: Object.fromEntries(Object.entries(concResults[n]!).map(([k, v]) => [k, `${v.ok}/${v.total}`])),
      phases: Object.fromEntries(Object.entries(concResults[n]!).map(([k, v]) => [k, Object.fromEntries(Object.entries(v.phases).map(([p, xs]) => [p, stat(xs)]))])),
    });
  }
  const linearity: Record<string, number | null> = {};
  for (const n of NAMES) {
    const a = figures.concurrent10!.results[n], b = figures.concurrent50!.results[n];
    linearity[n] = a && b ? Math.round(((b.median / 50) / (a.median / 10)) * 1000) / 1000 : null;
  }
  figures.concurrent50!.linearity = linearity; // per-container time at 50 / per-container time at 10 (<= 1: no worse than linear)

  // 6 MiB memory limit: `run /bin/true` must succeed; a sleeping one shows the limit applied.
  log("bench: 6 MiB memory limit");
  for (const r of RUNTIMES) {
    const id = newId(r, "mem");
    const res = x(rt(r, "run", "-b", B_MEM, id));
    x(rt(r, "delete", "--force", id));
    const sid = newId(r, "memsleep");
    let applied: unknown = null;
    const c = x(rt(r, "create", "-b", B_MEMSLEEP, "--pid-file", pidFile(sid), sid));
    if (c.code === 0 && x(rt(r, "start", sid)).code === 0) {
      await Bun.sleep(50);
      applied = memoryCgroupLimit(readPid(sid)) ?? null;
    }
    x(rt(r, "delete", "--force", sid));
    memoryLimit[r.name] = {
      ok: res.code === 0,
      exitCode: res.code,
      error: res.code === 0 ? undefined : res.stderr.slice(0, 400),
      limitSeenFromHost: applied,
      limitApplied: (applied as any)?.limit === MEM_LIMIT,
    };
  }
} catch (e) {
  failure = e;
} finally {
  // Sweep: every container each runtime knows (its --root), then check the roots and cgroups are empty.
  const leftovers: string[] = [];
  for (const r of RUNTIMES) {
    let ids: string[] = [];
    try {
      ids = readdirSync(r.root);
    } catch {}
    for (const id of new Set(ids)) x(rt(r, "delete", "--force", id));
    try {
      for (const e of readdirSync(r.root)) leftovers.push(join(r.root, e));
    } catch {}
    rmSync(r.root, { recursive: true, force: true });
  }
  // Cgroups a runtime leaked (e.g. after a failed create) are reported, then removed (empty dirs; deepest first).
  const leaked = cgroupLeftovers(PREFIX);
  for (const d of [...leaked].sort((a, b) => b.split("/").length - a.split("/").length)) {
    try {
      rmdirSync(d);
    } catch {}
  }
  const cgroupsLeaked: Record<string, string[]> = {};
  for (const d of leaked) (cgroupsLeaked[NAMES.find((n) => d.includes(`${PREFIX}-${n}-`)) ?? "?"] ??= []).push(d);
  const cgroups = cgroupLeftovers(PREFIX);
  if (boundControllers) x(["umount", CONTROLLERS]);
  const cleanup = { containersLeft: leftovers, cgroupsLeaked, cgroupsLeft: cgroups, controllersUnmounted: !readFileSync("/proc/self/mountinfo", "utf8").includes(CONTROLLERS) || !boundControllers };
  if (leaked.length) console.error(`bench: cgroups leaked by the runtimes (removed by the bench): ${leaked.join(", ")}`);
  if (leftovers.length || cgroups.length) console.error(`bench: left behind after the sweep: ${[...leftovers, ...cgroups].join(", ")}`);

  const machine = {
    date: new Date().toISOString(),
    host: readFileSync("/proc/sys/kernel/hostname", "utf8").trim(),
    os: (readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1]) ?? "",
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    bun: Bun.version,
    bunc: x([BUNC_BIN, "--version"], true).stdout.split("\n")[0]?.trim(),
    buncBinary: { path: BUNC, mtime: (() => { try { return statSync(BUNC).mtime.toISOString(); } catch { return null; } })() },
    runc: x([RUNTIMES[1]!.bin, "--version"], true).stdout.split("\n")[0]?.trim(),
    crun: x([RUNTIMES[2]!.bin, "--version"], true).stdout.split("\n")[0]?.trim(),
  };
  const report = { machine, runs: RUNS, quick: QUICK, seconds: Math.round((Date.now() - t0) / 100) / 10, notes, figures, startup, memoryLimit, cleanup, error: failure ? String((failure as Error).stack ?? failure) : undefined };
  if (!failure) printReport(report);
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(report, null, 2) + "\n");
  rmSync(BASE, { recursive: true, force: true });
  if (failure) {
    console.error(`bench: failed: ${(failure as Error).stack ?? failure}`);
    process.exit(1);
  }
}

function printReport(rep: any) {
  const m = rep.machine;
  const out: string[] = [];
  out.push(`\nbunc benchmark, ${m.date.slice(0, 10)}: ${m.cpu}, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel}; Bun ${m.bun}, ${m.bunc}, ${m.runc}, ${m.crun}`);
  out.push(`${rep.runs} runs per figure${rep.quick ? " (quick mode)" : ""}, alternating bunc, runc, crun; median (p10–p90).`);
  for (const n of rep.notes) out.push(`Note: ${n}`);
  out.push("");
  const f = rep.figures;
  const hdr = ["figure", "bunc", "runc", "crun", "bunc/runc", "bunc/crun"];
  const rows: string[][] = [];
  const r3 = (x: number | null | undefined) => (x == null ? "n/a" : x.toFixed(2));
  const row = (label: string, fig: any, digits = 1) => rows.push([label, ...NAMES.map((n) => cell(fig.results[n], digits)), r3(fig.ratios["bunc/runc"]), r3(fig.ratios["bunc/crun"])]);
  row("(1) run /bin/true + delete, ms", f.run);
  row("(1s) the same with podman's seccomp profile, ms", f.runSeccomp);
  row("(2) create+start+wait+delete, ms", f.createStartDelete);
  for (const [k, v] of Object.entries(f.createStartDelete.steps as Record<string, Record<string, Stat>>)) {
    rows.push([`    ${k}, ms`, ...NAMES.map((n) => cell(v[n])), r3(ratio(v.bunc, v.runc)), r3(ratio(v.bunc, v.crun))]);
  }
  if (f.exec.available.bunc) row("(3) exec /bin/true, ms", f.exec);
  else rows.push(["(3) exec /bin/true, ms", "not available", cell(f.exec.results.runc), cell(f.exec.results.crun), "n/a", "n/a"]);
  if (f.execSeccomp) row("(3s) the same, podman's seccomp profile, ms", f.execSeccomp);
  row("(4) state (running), ms", f.state);
  row("(6) 10 concurrent lifecycles, ms", f.concurrent10, 0);
  row("(6) 50 concurrent lifecycles, ms", f.concurrent50, 0);
  rows.push(["    succeeded (10 / 50)", ...NAMES.map((n) => `${f.concurrent10.succeeded[n]} / ${f.concurrent50.succeeded[n]}`), "", ""]);
  rows.push(["    per-container time 50 vs 10", ...NAMES.map((n) => r3(f.concurrent50.linearity[n])), "", ""]);
  for (const [k, v] of Object.entries(f.memory.peakRss as Record<string, any>)) row(`(7) peak RSS \`${k}\`, MiB`, v);
  row("(7) created container RSS, MiB", f.memory.createdContainer.rss);
  row("(7) created container PSS, MiB", f.memory.createdContainer.pss);
  row("(7) created container anonymous, MiB", f.memory.createdContainer.anonymous);
  rows.push(["    processes held", ...NAMES.map((n) => String(f.memory.createdContainer.processes.results[n]?.median ?? "n/a")), "", ""]);
  out.push(table(hdr, rows));
  out.push("");
  const u = f.unpack;
  if (f.oneShot) {
    const o = f.oneShot;
    out.push(`(5b) one-shot run of a tarball seen before, ms: \`run --rootfs <tarball>\` ${cell(o.results["oneshot-cached"])} (first run, unpacking: ${o.firstRunMs.toFixed(1)}), \`run\` of a prepared bundle + delete ${cell(o.results["prepared-bundle"])}; cached/prepared ${r3(o.ratios["cached/prepared"])}`);
  }
  if (f.image) {
    const i = f.image;
    const c = (k: string) => (i.results[k] ? cell(i.results[k]) : "n/a");
    out.push(`(8) an image (OCI archive of the Alpine minirootfs), ms: seen before: \`bunc run --image\` ${c("bunc-cached")}, \`podman run --rm\` ${c("podman-run")}${i.results["docker-run"] ? `, \`docker run --rm\` ${c("docker-run")} (${i.docker})` : ` (${i.docker})`}; bunc/podman ${r3(i.ratios["bunc-cached/podman-run"])} (goal <= 0.25)${i.results["docker-run"] ? `, bunc/docker ${r3(i.ratios["bunc-cached/docker-run"])}` : ""}. First run: bunc ${c("bunc-first")}, \`podman load\` + run ${c("podman-load-run")}; bunc/podman ${r3(i.ratios["bunc-first/podman-load-run"])}`);
  }
  const unpackLine = (tag: string, u: any) => `${tag} \`bunc bundle\` ${cell(u.results.bunc)}, GNU tar -xzf ${cell(u.results["gnu-tar"])}, bunc library in-process ${cell(u.results["bunc-library"])}; bunc/tar ${r3(u.ratios["bunc/gnu-tar"])} (library/tar ${r3(u.ratios["bunc-library/gnu-tar"])}); peak RSS bunc ${u.peakRssMiB.bunc.toFixed(1)} MiB, tar ${u.peakRssMiB["gnu-tar"].toFixed(1)} MiB`;
  out.push(unpackLine("(5) unpack Alpine minirootfs, ms:", u));
  if (f.unpackTmpfs) out.push(unpackLine("(5t) the same on a tmpfs, ms:", f.unpackTmpfs));
  const s = rep.startup;
  const startLine = (faulted: boolean) => {
    const keys = Object.keys(s.results).filter((k) => k.endsWith("(faulted)") === faulted);
    const sfx = faulted ? " (faulted)" : "";
    const name = (k: string) => k.replace(" (faulted)", "");
    return `${keys.map((k) => `${name(k)} ${cell(s.results[k], 2)}`).join(", ")}; bunc --version / bun -e 0 = ${r3(s.ratios[`bunc --version / bun -e 0${sfx}`])}, bunc state / bun -e 0 = ${r3(s.ratios[`bunc state / bun -e 0${sfx}`])} (target <= ${s.target}). Peak RSS, MiB: ${keys.map((k) => `${name(k)} ${s.rssMiB[k].median.toFixed(1)}`).join(", ")}`;
  };
  out.push(`Start-up, ms, every binary's page cache read in (as after an install): ${startLine(false)}`);
  out.push(`Start-up, ms, every binary's page cache filled by page faults (as after a reboot): ${startLine(true)}`);
  out.push(`6 MiB memory limit (run /bin/true): ${NAMES.map((n) => {
    const v = rep.memoryLimit[n];
    return `${n} ${v.ok ? "ok" : `FAIL (${(v.error ?? `exit ${v.exitCode}`).split("\n")[0]})`}${v.limitApplied ? ", limit applied" : v.limitSeenFromHost ? `, limit seen from host: ${v.limitSeenFromHost.limit}` : ", limit not verified"}`;
  }).join("; ")}`);
  const leakedBy = Object.entries(rep.cleanup.cgroupsLeaked as Record<string, string[]>).map(([n, ds]) => `${n} ${ds.length} (${ds.join(", ")})`);
  out.push(`Cleanup: ${rep.cleanup.containersLeft.length + rep.cleanup.cgroupsLeft.length === 0 ? "every container deleted, no cgroups left" : `LEFT: ${[...rep.cleanup.containersLeft, ...rep.cleanup.cgroupsLeft].join(", ")}`}${leakedBy.length ? `; cgroup dirs leaked by ${leakedBy.join("; ")}, removed by the bench` : ""}; took ${rep.seconds} s.`);
  console.log(out.join("\n"));
}
