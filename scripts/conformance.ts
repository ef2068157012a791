#!/usr/bin/env bun
// The OCI runtime-tools validation suite (../shared/suites, see its README) against dist/bunc:
// builds it once per tarball into fixtures/cache/, runs its 58 programs one at a time, parses
// their TAP and judges the failures against scripts/conformance-expected.ts.
//   bun scripts/conformance.ts [--pass default|no-host-setup] [--only a,b] [--json out.json]
// Exits 1 on an unexplained failure or a stale entry. Root only.
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXPECTED, judge, type Verdict } from "./conformance-expected";
import { parseTap, summarize } from "./conformance-tap";
import { cgroupDirs } from "./cgroup-dirs";

const PROJECT = resolve(import.meta.dir, "..");
const SUITES = process.env.BUNC_SUITES_DIR ?? join(PROJECT, "../shared/suites");
const TARBALL = "runtime-tools-260e151.tar.gz";
const TEST_TIMEOUT_MS = 60_000;
/** A pass that overruns this (every program hanging) reports the rest as not run. */
const PASS_BUDGET_MS = 12 * 60_000;

/** Setup paths of bunc's rootfs preparation: the suite runs once on each. */
export const PASSES: Record<string, Record<string, string>> = { default: {}, "no-host-setup": { BUNC_HOST_SETUP: "0" } };

export interface Failure { test: string; n?: number; line: string; diag: string }
/** complete: the program printed every point of its plan. */
export interface FileResult { test: string; ms: number; points: number; skipped: number; complete: boolean; failures: Failure[] }

/** Why the suite cannot run here, or undefined. */
export function unavailable(): string | undefined {
  if (process.geteuid?.() !== 0) return "not root";
  if (!existsSync(join(SUITES, TARBALL))) return `${join(SUITES, TARBALL)} not found`;
  const missing = ["go", "make", "tar", "setsid"].filter((b) => !Bun.which(b));
  if (missing.length) return `missing ${missing.join(", ")} (apt-get install golang-go make)`;
}

/** The built runtime-tools tree, from the cache when the tarball is unchanged. */
export function buildSuite(log: (s: string) => void = console.error): string {
  const tarball = join(SUITES, TARBALL);
  const sha = createHash("sha256").update(readFileSync(tarball)).digest("hex");
  const sums = readFileSync(join(SUITES, "SHA256SUMS"), "utf8");
  if (!sums.split("\n").some((l) => l.split(/\s+\*?/)[0] === sha && l.trim().endsWith(TARBALL)))
    throw new Error(`${tarball}: sha256 ${sha} does not match SHA256SUMS`);
  const dir = join(PROJECT, "fixtures/cache", `runtime-tools-${sha.slice(0, 16)}`);
  if (existsSync(join(dir, ".built"))) return dir;
  log(`building runtime-tools into ${dir} ...`);
  const t0 = Date.now();
  const work = `${dir}.tmp${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const sh = (cmd: string[], cwd: string) => {
    const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, GOFLAGS: "-mod=vendor", GOPROXY: "off" } });
    if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed:\n${p.stdout}${p.stderr}`.slice(-4000));
  };
  sh(["tar", "-xzf", tarball, "-C", work], work);
  const src = join(work, "runtime-tools");
  sh(["make", "runtimetest"], src);
  sh(["make", "-j2", "validation-executables"], src);
  rmSync(dir, { recursive: true, force: true });
  renameSync(src, dir);
  rmSync(work, { recursive: true, force: true });
  writeFileSync(join(dir, ".built"), `${sha}\n`);
  log(`built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return dir;
}

export function programs(suite: string): string[] {
  return readdirSync(join(suite, "validation")).filter((n) => existsSync(join(suite, "validation", n, `${n}.t`))).sort();
}

/** The failures of one program's run, from its TAP, exit status and stderr. */
export function failuresOf(test: string, out: string, err: string, code: number | null, timedOut: boolean): Omit<FileResult, "ms"> {
  const tap = parseTap(out);
  const f: Failure[] = [];
  const tail = (s: string) => s.trim().split("\n").slice(-4).join("\n");
  for (const p of tap.points) if (!p.ok && !p.skip) f.push({ test, n: p.n, line: p.line, diag: summarize(p.diag).join("\n") });
  if (timedOut) f.push({ test, line: `hung: killed after ${TEST_TIMEOUT_MS / 1000} s`, diag: tail(err) });
  else if (code !== 0) f.push({ test, line: `exit status ${code}`, diag: tail(err) });
  if (tap.points.length && tap.plan === undefined) f.push({ test, line: "no plan: the TAP stops early", diag: timedOut ? "" : tail(err) });
  else if (tap.plan !== undefined && tap.points.length !== tap.plan) f.push({ test, line: `plan of ${tap.plan} but ${tap.points.length} points`, diag: "" });
  // Programs without points (hooks, *_fail) give their verdict as a YAML block with an "error",
  // or by their exit status alone.
  if (!tap.points.length && tap.preamble.some((l) => l.includes('"error"')))
    f.push({ test, line: "1..0 with an error", diag: summarize(tap.preamble).join("\n") });
  for (const w of err.split("\n").filter((l) => l.startsWith("WARNING:"))) f.push({ test, line: w, diag: "" });
  const complete = !timedOut && tap.plan === tap.points.length;
  return { test, complete, points: tap.points.length, skipped: tap.points.filter((p) => p.skip).length, failures: f };
}

/** Cgroups the suite makes (AbsCgroupPath /cgrouptest, RelCgroupPath testdir/cgrouptest/container), at any depth. */
function removeSuiteCgroups(): string[] {
  const left: string[] = [];
  for (const dir of cgroupDirs((n) => n === "cgrouptest" || n === "testdir", 4)) removeTree(dir, left);
  return left;
}

function removeTree(dir: string, removed: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name), removed);
  try {
    rmdirSync(dir);
    removed.push(dir);
  } catch {}
}

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(dir + "/"));
}

/** Live processes in process group `pgid` (the program's, made by setsid). */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const [state, , , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (+pgrp! === pgid && state !== "Z") pids.push(+d); // zombies wait for pid 1, harmlessly
    } catch {}
  }
  return pids;
}

/** One program, with a private TMPDIR and bunc state root; whatever it leaves is removed. */
async function runOne(suite: string, test: string, bunc: string, env: Record<string, string>): Promise<FileResult & { cleaned: string[] }> {
  const scratch = mkdtempSync(join(tmpdir(), `bunc-conf-${test}-`));
  chmodSync(scratch, 0o755); // no stricter than /tmp: user-namespace tests traverse it
  const root = join(scratch, "state"), tmp = join(scratch, "tmp"), runtime = join(scratch, "bunc");
  const out = join(scratch, "out"), errf = join(scratch, "err");
  const cleaned: string[] = [];
  let pgid = 0;
  try {
    mkdirSync(tmp);
    // The suite runs RUNTIME with no global flags of its own, so a wrapper can add --root.
    writeFileSync(runtime, `#!/bin/sh\nexec '${bunc}' --root '${root}' "$@"\n`);
    chmodSync(runtime, 0o755);
    const t0 = Date.now();
    // setsid: the program leads its own process group, killed whole on a hang. Files, not pipes:
    // a leftover container must not hold our reads open.
    const p = Bun.spawn([Bun.which("setsid")!, join(suite, "validation", test, `${test}.t`)], {
      cwd: suite,
      env: { ...process.env, BUNC_HOST_SETUP: undefined, ...env, RUNTIME: runtime, TMPDIR: tmp }, // the pass alone picks the path
      stdin: "ignore",
      stdout: Bun.file(out),
      stderr: Bun.file(errf),
    });
    pgid = p.pid;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-p.pid, "SIGKILL");
      } catch {}
    }, TEST_TIMEOUT_MS);
    const code = await p.exited;
    clearTimeout(timer);
    const ms = Date.now() - t0;
    const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
    return { ...failuresOf(test, read(out), read(errf), timedOut ? null : code, timedOut), ms, cleaned }; // `cleaned` is filled below
  } finally {
    const stray = pgid ? groupMembers(pgid) : [];
    for (const pid of stray) try { process.kill(pid, "SIGKILL"); } catch {}
    if (stray.length) cleaned.push(`processes ${stray.join(" ")}`);
    for (const id of existsSync(root) ? readdirSync(root) : []) {
      Bun.spawnSync([bunc, "--root", root, "delete", "--force", id], { stdout: "ignore", stderr: "ignore" });
      cleaned.push(`container ${id}`);
    }
    for (const m of mountsUnder(scratch).reverse()) {
      Bun.spawnSync(["umount", "-l", m]);
      cleaned.push(`mount ${m}`);
    }
    cleaned.push(...removeSuiteCgroups().map((c) => `cgroup ${c}`));
    if (!mountsUnder(scratch).length) rmSync(scratch, { recursive: true, force: true });
  }
}

/** Runs the programs one at a time on one setup path. */
export async function runPass(suite: string, pass: string, opts: { bunc?: string; only?: string[]; log?: (s: string) => void } = {}): Promise<{ results: FileResult[]; verdict: Verdict; ms: number }> {
  const bunc = opts.bunc ?? process.env.BUNC_BIN ?? join(PROJECT, "dist/bunc");
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  removeSuiteCgroups();
  const results: FileResult[] = [];
  for (const test of opts.only ?? programs(suite)) {
    if (Date.now() - t0 > PASS_BUDGET_MS) {
      results.push({ test, ms: 0, points: 0, skipped: 0, complete: false, failures: [{ test, line: "not run: the pass overran its budget", diag: "" }] });
      continue;
    }
    const r = await runOne(suite, test, bunc, PASSES[pass]!);
    results.push(r);
    const state = r.failures.length ? `FAIL ${r.failures.length}` : r.skipped ? `ok (${r.skipped} skipped)` : "ok";
    log(`${pass} ${test}: ${state} ${(r.ms / 1000).toFixed(1)} s${r.cleaned.length ? `; cleaned ${r.cleaned.length}: ${r.cleaned.slice(0, 3).join(", ")}` : ""}`);
  }
  return { results, verdict: judge(results, EXPECTED), ms: Date.now() - t0 };
}

/** The report of a verdict: unexplained failures and stale entries, one per line block. */
export function report(v: Verdict): string {
  const u = v.unexplained.map((f) => `UNEXPLAINED ${f.test}: ${f.line}${f.diag ? "\n    " + f.diag.split("\n").join("\n    ") : ""}`);
  const s = v.stale.map((e) => `STALE ENTRY ${e.test}${e.assertions ? ` #${e.assertions.join(",")}` : ""}: ${e.reason} (no longer fails)`);
  return [...u, ...s].join("\n");
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const why = unavailable();
  if (why) {
    console.error(`conformance: cannot run: ${why}`);
    process.exit(2);
  }
  const suite = buildSuite();
  const passes = arg("--pass") ? [arg("--pass")!] : Object.keys(PASSES);
  const only = arg("--only")?.split(",");
  let bad = false;
  const json: Record<string, unknown> = {};
  for (const pass of passes) {
    const { results, verdict, ms } = await runPass(suite, pass, { only, log: console.error });
    json[pass] = { ms, results, verdict };
    const text = report(verdict);
    console.log(`== ${pass}: ${results.length} programs in ${(ms / 1000).toFixed(0)} s, ${results.filter((r) => !r.failures.length).length} clean, ${verdict.explained.length} explained failures, ${verdict.unexplained.length} unexplained, ${verdict.stale.length} stale entries`);
    if (text) console.log(text);
    bad ||= !!text;
  }
  if (arg("--json")) writeFileSync(arg("--json")!, JSON.stringify(json, null, 1));
  process.exit(bad ? 1 : 0);
}
