#!/usr/bin/env bun
// Boots a guest image (scripts/guests/build.ts) under QEMU's TCG with a 9p share holding
// dist/bunc, the Alpine tarball and the in-guest checks (scripts/guests/checks.sh); the guest's
// unit runs the checks at boot, writes TAP to the share and powers off. QEMU gets a hard
// deadline and is killed by its PID on every path.
//
//   bun scripts/guests/boot.ts [bookworm|trixie ...]    (root; prints each guest's TAP)
//
// Test tooling, not bunc: it shells out to qemu-system-x86_64.
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { alpineTarball } from "../alpine-tarball";
import { buildImage, kernelCmdline, cleanStaleBuilds, type GuestImage, SUITES, type Suite } from "./build";
import { collect, machineArgs, MACHINE, Qmp, READY } from "./machine";

const PROJECT = resolve(import.meta.dir, "../..");
export const CHECKS = join(import.meta.dir, "checks.sh");
/** The CRI pod lifecycle the checks run with the bunc binary as the bun CLI, bundled into the share. */
const CRI = join(import.meta.dir, "cri.ts");

/**
 * The checks a suite runs (an ERE over their names), all of them when absent. Debian 11 runs the
 * lifecycle, exec and fast-path ones; Docker with the cgroupfs driver (issue 21) runs in Debian 12
 * only: the TCG guests share two cores; the SELinux checks run in the SELinux guest alone. Kept here, not in build.ts, whose text keys the images.
 */
export const CHECKS_ONLY: Partial<Record<Suite, string>> = {
  bookworm: "^(host|lifecycle|exec|cgroup|rootless|podman|fast path|docker|docker defaults|cri|bench|apparmor|systemd cgroup|systemd notify):",
  bullseye: "^(host|lifecycle|exec|fast path):",
  "bookworm-selinux": "^(host|selinux):",
  trixie: "^(host|lifecycle|exec|cgroup|rootless|podman|fast path|apparmor|systemd cgroup|systemd notify|docker|docker defaults|cri|bench):",
};

/** The checks a suite runs: BUNC_GUEST_ONLY (an ERE over the names, e.g. '^(host|bench):' for the figures) or CHECKS_ONLY. */
export function checksOnly(suite: Suite): string | undefined {
  return process.env.BUNC_GUEST_ONLY || CHECKS_ONLY[suite];
}

/** vCPUs per guest: BUNC_GUEST_SMP ("2", or "bullseye=1,trixie=2"), else the saved machine's (another count boots instead of restoring). */
export function smpFor(suite: Suite): number {
  const env = process.env.BUNC_GUEST_SMP ?? "";
  if (/^\d+$/.test(env)) return Number(env);
  const m = new RegExp(`(?:^|,)${suite}=(\\d+)`).exec(env);
  return m ? Number(m[1]) : MACHINE.smp;
}

/** BUNC_GUEST_BENCH=1 takes the in-guest figures (bunc against the guest's runc); they are figures, not tests. */
const BENCH = process.env.BUNC_GUEST_BENCH === "1";

export interface BootOptions {
  /** Hard deadline for QEMU, boot to power-off. */
  timeoutMs: number;
  smp?: number;
}

export interface BootResult {
  /** QEMU's exit code (null when killed). */
  qemuExit: number | null;
  timedOut: boolean;
  seconds: number;
  /** QEMU's CPU time (user and system, seconds), undefined when unknown. */
  cpuSeconds?: number;
  /** The serial console: kernel, systemd and the unit's lines. */
  console: string;
  /** Restored from the build's saved state (else booted). */
  restored: boolean;
}

const live = new Set<number>();
process.on("exit", () => {
  for (const pid of live) try { process.kill(pid, "SIGKILL"); } catch {}
});

/**
 * Starts image with share as the 9p tag "share": restores the build's saved state when the
 * machine is the one it was saved as (else boots), tells the runner "go" and resolves when QEMU
 * exits or is killed at the deadline.
 */
export async function bootGuest(image: GuestImage, share: string, opts: BootOptions): Promise<BootResult> {
  const smp = opts.smp ?? MACHINE.smp;
  const restore = smp === MACHINE.smp && existsSync(image.state);
  const qmpDir = mkdtempSync(join(tmpdir(), `bunc-qmp-${image.suite}-`));
  const qmpPath = join(qmpDir, "qmp.sock");
  const args = machineArgs({ kernel: image.kernel, initrd: image.initrd, cmdline: kernelCmdline(image.suite), disk: image.disk, share, qmp: qmpPath, smp, snapshot: true, incoming: restore ? image.state : undefined });
  const t0 = performance.now();
  const p = Bun.spawn(args, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  live.add(p.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try { process.kill(p.pid, "SIGKILL"); } catch {}
  }, opts.timeoutMs);
  // "go" every second until the runner is past it: a line sent before it opened its serial port is lost
  let resend: ReturnType<typeof setInterval> | undefined;
  let gone = false;
  const go = () => {
    if (resend || gone) return;
    const send = () => {
      try {
        p.stdin.write(`go ${Math.floor(Date.now() / 1000)}\n`);
        p.stdin.flush();
      } catch {}
    };
    send();
    resend = setInterval(send, 1000);
  };
  const stopGo = () => {
    gone = true;
    clearInterval(resend);
  };
  try {
    // a cold boot: "go" once the runner says it waits; a restore: once the machine runs again
    const out = collect(p.stdout, (all) => {
      if (all.includes(READY)) go();
      if (/bunc-guest: (running|9p mount failed|done)/.test(all)) stopGo();
    });
    const err = new Response(p.stderr).text();
    let restoreError = "";
    if (restore) {
      try {
        const qmp = await Qmp.open(qmpPath);
        try {
          // saved stopped, the machine is restored paused: continued once the state is in
          const s = await qmp.until("query-status", (s) => s.status === "paused" || s.status === "running", 5 * 60_000);
          if (s.status === "paused") await qmp.command("cont");
        } finally {
          qmp.close();
        }
        go();
      } catch (e: any) {
        restoreError = `\n[restoring ${image.state}] ${e.message}`;
      }
    }
    const [text, errText] = await Promise.all([out, err]);
    const code = await p.exited;
    const cpu = p.resourceUsage()?.cpuTime.total;
    return {
      qemuExit: timedOut ? null : code, timedOut, seconds: (performance.now() - t0) / 1000, restored: restore,
      cpuSeconds: cpu === undefined ? undefined : Number(cpu) / 1e6, console: text + (errText ? `\n[qemu stderr]\n${errText}` : "") + restoreError,
    };
  } finally {
    stopGo();
    clearTimeout(timer);
    try { process.kill(p.pid, "SIGKILL"); } catch {}
    await p.exited;
    live.delete(p.pid);
    rmSync(qmpDir, { recursive: true, force: true });
  }
}

export interface GuestRun extends BootResult {
  suite: Suite;
  kernel: string;
  /** The checks' TAP (empty when they never ran). */
  tap: string;
  /** The checks' own stdout and stderr. */
  guestLog: string;
  /** The checks script's exit code, undefined when it never finished. */
  checksExit?: number;
  /** The in-guest benchmark's table (markdown), empty when it did not run. */
  bench: string;
}

/** Builds (or reuses) the suite's image, boots it with the checks and brings back their TAP. */
export async function runGuest(suite: Suite, opts: { timeoutMs?: number; bunc?: string; smp?: number; after?: Promise<unknown> } = {}): Promise<GuestRun> {
  cleanStaleBuilds();
  const image = await buildImage(suite);
  // built alongside the others, booted when the schedule says (runGuests)
  await opts.after;
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
  const share = mkdtempSync(join(tmpdir(), `bunc-guest-${suite}-`));
  try {
    copyFileSync(opts.bunc ?? join(PROJECT, "dist/bunc"), join(share, "bunc"));
    copyFileSync(alpineTarball(), join(share, "alpine.tar.gz"));
    copyFileSync(CHECKS, join(share, "run.sh"));
    const only = checksOnly(suite);
    if (only) writeFileSync(join(share, "only"), only);
    if (BENCH) writeFileSync(join(share, "bench"), process.env.BUNC_GUEST_BENCH_RUNS ?? "5");
    const cri = await Bun.build({ entrypoints: [CRI], target: "bun", outdir: share, naming: "cri.js" });
    if (!cri.success) throw new Error(`bundling ${CRI}: ${cri.logs.join("\n")}`);
    copyFileSync(join(PROJECT, "test/support/cri.proto"), join(share, "cri.proto"));
    // A container's sd_notify sender (the sd_notify check; skipped there without it): static, from the host's C compiler.
    if (Bun.which("cc")) Bun.spawnSync(["cc", "-static", "-O2", "-o", join(share, "sd-notify"), join(PROJECT, "test/support/sd-notify.c")]);
    // the in-guest deadline comes before the host's, so the TAP and the log are whole
    writeFileSync(join(share, "timeout"), String(Math.max(60, Math.floor(timeoutMs / 1000) - 120)));
    const r = await bootGuest(image, share, { timeoutMs, smp: opts.smp ?? smpFor(suite) });
    const read = (f: string) => (existsSync(join(share, f)) ? readFileSync(join(share, f), "utf8") : "");
    const exit = read("exit-code").trim();
    if (process.env.BUNC_GUEST_KEEP) {
      const keep = join(process.env.BUNC_GUEST_KEEP, suite);
      cpSync(share, keep, { recursive: true, filter: (f) => !/\/(bunc|alpine\.tar\.gz)$/.test(f) });
      writeFileSync(join(keep, "console.log"), r.console);
    }
    return {
      ...r, suite, kernel: readFileSync(join(image.dir, "kernel-version"), "utf8").trim(),
      tap: read("results.tap"), guestLog: read("guest.log"), bench: read("bench.md"), checksExit: exit === "" ? undefined : Number(exit),
    };
  } finally {
    rmSync(share, { recursive: true, force: true });
  }
}

/**
 * Debian 12 and 13, the hosts issue 21 is about (and budgets): booted first, with the 2 cores to
 * themselves (each TCG guest keeps one busy). The other guests (Debian 11, SELinux) are built
 * alongside and boot once one of those two is done.
 */
export const PRIMARY: readonly Suite[] = ["bookworm", "trixie"];

/** Every suite's run, scheduled as PRIMARY says. */
export function runGuests(suites: readonly Suite[], opts: { timeoutMs?: number } = {}): Map<Suite, Promise<GuestRun>> {
  const runs = new Map<Suite, Promise<GuestRun>>();
  for (const s of suites) if (PRIMARY.includes(s)) runs.set(s, runGuest(s, opts));
  const settled = [...runs.values()].map((p) => p.then(() => {}, () => {}));
  const oneDone = settled.length ? Promise.race(settled) : Promise.resolve();
  for (const s of suites) if (!runs.has(s)) runs.set(s, runGuest(s, { ...opts, after: oneDone }));
  return runs;
}

export interface TapLine {
  ok: boolean;
  name: string;
  skip?: string;
  detail: string;
}

/** "ok N - name # SKIP reason" / "not ok N - name", with the "#" lines after each as its detail. */
export function parseTap(tap: string): TapLine[] {
  const out: TapLine[] = [];
  for (const line of tap.split("\n")) {
    const m = /^(not ok|ok)\s+\d+\s*-?\s*(.*?)(?:\s+#\s*SKIP\s*(.*))?$/i.exec(line);
    if (m) out.push({ ok: m[1] === "ok", name: m[2]!.trim(), skip: m[3]?.trim(), detail: "" });
    else if (line.startsWith("#") && out.length) out[out.length - 1]!.detail += line.replace(/^#\s?/, "") + "\n";
  }
  return out;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const suites = (args.length ? args : [...SUITES]) as Suite[];
  const serial = process.env.BUNC_GUEST_SERIAL === "1";
  const go = async (s: Suite) => print(s, await runGuest(s));
  const print = (s: Suite, r: GuestRun) => {
    console.log(`# ${s} (kernel ${r.kernel}): ${r.restored ? "restored" : "booted"}, qemu exit ${r.qemuExit}${r.timedOut ? " (timed out)" : ""}, ${r.seconds.toFixed(0)} s (CPU ${r.cpuSeconds?.toFixed(0) ?? "?"} s), checks exit ${r.checksExit}`);
    console.log(r.tap || `# no TAP; console tail:\n${r.console.split("\n").slice(-60).join("\n")}`);
    if (r.bench) console.log(r.bench);
    if (process.env.BUNC_GUEST_VERBOSE) console.log(r.guestLog);
  };
  if (serial) for (const s of suites) await go(s);
  else await Promise.all([...runGuests(suites)].map(async ([s, run]) => print(s, await run)));
}
