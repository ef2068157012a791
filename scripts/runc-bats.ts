#!/usr/bin/env bun
// runc's own integration tests (tests/integration/*.bats of runc 1.3.3, the source Debian
// ships) run against dist/bunc: what an engineer who knows runc tries first. Offline, with
// stand-ins for what that suite downloads or builds: the Alpine minirootfs as its busybox
// image, a debootstrap of Debian 12 as its Debian one, Python programs of scripts/runc-bats/ as its Go helpers (recvtty, remap-rootfs, ...). Each failure is matched against
// scripts/runc-bats/expected.ts (why it fails here and is not a bunc bug) or reported as
// unexplained.
//   bun scripts/runc-bats.ts [--only a.bats,b.bats] [--tap out.tap]
// Root only; needs bats, gawk, jq, python3, xz and debootstrap (apt-get install bats gawk jq xz-utils debootstrap).
// Downloads the runc source once into fixtures/cache/. Exits 1 on an unexplained failure.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { alpineTarball } from "./alpine-tarball";
import { unpackedSource } from "./source-archive";
import { EXPECTED } from "./runc-bats/expected";
import { CACHE_DIR as GUEST_CACHE, debianMirror } from "./guests/build";

const PROJECT = resolve(import.meta.dir, "..");
const VERSION = "1.3.3";
const SOURCE = `runc_${VERSION}+ds1.orig.tar.xz`;
const URL = `http://deb.debian.org/debian/pool/main/r/runc/${SOURCE}`;
const SHA256 = "b5c86ad372d1b08f762a978efda6cca6eb806aa60641e792e864007c7c871d45";
/** Files left out: checkpoint needs CRIU, sshfs a FUSE mount; neither is what bunc offers. */
const LEFT_OUT = new Set(["checkpoint.bats", "mounts_sshfs.bats"]);
const FILE_TIMEOUT_MS = 10 * 60_000;

const log = (s: string) => console.error(`runc-bats: ${s}`);

/** The unpacked tests/integration of runc's source, fetched and checked once. */
async function integrationDir(): Promise<string> {
  const tree = await unpackedSource({ url: URL, sha256: SHA256, tree: `runc-${VERSION}`, done: "tests/integration/helpers.bash", tarArgs: ["--strip-components=1"], log });
  return join(tree, "tests/integration");
}

/** runc's Go helpers (tests/cmd) as Python stand-ins of scripts/runc-bats/; sd-helper has none. */
const STAND_INS = ["recvtty", "remap-rootfs", "fs-idmap", "pidfd-kill", "seccompagent"];

/**
 * runc's Debian image (bash, util-linux's findmnt and chrt, glibc for the hooks library tests):
 * a minbase debootstrap of bookworm from the Debian mirror, its docs, locales and apt lists
 * left out, as a tarball made once into fixtures/cache/ (~20 s with the guests' .deb cache).
 */
function debianImage(): string {
  const image = join(PROJECT, "fixtures/cache/runc-bats-debian.tar");
  if (existsSync(image)) return image;
  const work = mkdtempSync(join(PROJECT, "fixtures/cache/.debian-"));
  try {
    const tree = join(work, "tree");
    const debs = existsSync(join(GUEST_CACHE, "debs-bookworm")) ? join(GUEST_CACHE, "debs-bookworm") : join(PROJECT, "fixtures/cache/debs-bookworm");
    mkdirSync(debs, { recursive: true });
    log(`debootstrap bookworm for the suite's Debian image (once)`);
    const d = Bun.spawnSync(["debootstrap", "--variant=minbase", `--cache-dir=${debs}`, "bookworm", tree, debianMirror()], { stdout: "pipe", stderr: "pipe" });
    if (d.exitCode !== 0) throw new Error(`debootstrap: ${d.stderr.toString().trim().split("\n").at(-1)}`);
    for (const p of ["var/cache", "var/lib/apt/lists", "usr/share/doc", "usr/share/locale", "usr/share/man", "usr/share/info"]) {
      rmSync(join(tree, p), { recursive: true, force: true });
      mkdirSync(join(tree, p), { recursive: true });
    }
    const t = Bun.spawnSync(["tar", "-C", tree, "-cf", `${image}.tmp`, "."]);
    if (t.exitCode !== 0) throw new Error(`tar of the Debian tree: ${t.stderr}`);
    Bun.spawnSync(["mv", `${image}.tmp`, image]);
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * runc's busybox image, from the Alpine minirootfs: its applets hard links to /bin/busybox
 * (Alpine's are absolute symlinks, which a test's chown of rootfs/bin/echo follows out of the
 * rootfs), and no /proc or /sys directory (tests put a symlink there).
 */
function busyboxImage(): string {
  const image = join(PROJECT, "fixtures/cache/runc-bats-busybox-2.tar");
  if (existsSync(image)) return image;
  const work = mkdtempSync(join(PROJECT, "fixtures/cache/.busybox-"));
  try {
    const script = `set -e
tar -C "$1" -xzf "$2"
rmdir "$1/proc" "$1/sys"
find "$1" -type l -lname /bin/busybox | while read -r l; do ln -f "$1/bin/busybox" "$l"; done
tar -C "$1" -cf "$3.tmp" .
mv "$3.tmp" "$3"`;
    const z = Bun.spawnSync(["sh", "-c", script, "sh", work, alpineTarball(), image], { stderr: "pipe" });
    if (z.exitCode !== 0) throw new Error(`the busybox image from the Alpine tarball: ${z.stderr}`);
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The suite's downloads and Go helpers replaced by what is here; returns the busybox image. */
function standIns(dir: string): void {
  const image = busyboxImage();
  writeFileSync(join(dir, "get-images.sh"), `#!/bin/bash\necho "BUSYBOX_IMAGE=${image}"\necho "DEBIAN_IMAGE=${debianImage()}"\n`);
  const bin = join(dir, "../cmd/_bin");
  mkdirSync(bin, { recursive: true });
  for (const helper of STAND_INS) {
    copyFileSync(join(import.meta.dir, `runc-bats/${helper}.py`), join(bin, helper));
    chmodSync(join(bin, helper), 0o755);
  }
}

export interface Result { file: string; n: number; name: string; ok: boolean; skip?: string; detail: string[] }

/** One line of bats's TAP (with -T timings): a plan, a result, or a diagnostic ("# ..."). */
export function parseLine(line: string): { plan: number } | { result: Omit<Result, "file" | "detail"> } | { diag: string } | undefined {
  if (/^1\.\.\d+$/.test(line)) return { plan: Number(line.slice(3)) };
  const m = line.match(/^(ok|not ok) (\d+) (.*?)(?: in \d+ms)?(?: # skip ?(.*))?$/);
  if (m) return { result: { n: Number(m[2]), name: m[3]!, ok: m[1] === "ok", skip: m[4] } };
  if (line.startsWith("#")) return { diag: line };
}

/** Ends the stand-ins this run started (they may hold bats's output open), by pid. */
function endStandIns(bin: string): void {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      // python3 <script>: the script's path as bats wrote it (".../integration/../cmd/_bin/recvtty").
      const script = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[1];
      if (script && STAND_INS.some((h) => resolve(script) === join(bin, h))) process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
}

async function runFile(dir: string, file: string, runc: string, tmp: string, tap: string[]): Promise<Result[]> {
  // TMPDIR: the suite's helpers leave a file there per test (losetup.XXXXXX); this run's own directory.
  const p = Bun.spawn(["bats", "-T", file], { cwd: dir, env: { ...process.env, RUNC: runc, TMPDIR: tmp }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => (p.kill("SIGKILL"), endStandIns(join(dir, "../cmd/_bin"))), FILE_TIMEOUT_MS);
  const results: Result[] = [];
  let plan = -1, buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of p.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      tap.push(`${file}: ${line}`);
      const parsed = parseLine(line);
      if (parsed && "plan" in parsed) plan = parsed.plan;
      else if (parsed && "result" in parsed) results.push({ file, ...parsed.result, detail: [] });
      else if (parsed && results.length) results.at(-1)!.detail.push(parsed.diag);
      // Every test reported: what still holds bats's output is a stand-in left running.
      if (plan >= 0 && results.length === plan) endStandIns(join(dir, "../cmd/_bin"));
    }
  }
  clearTimeout(timer);
  await p.exited;
  endStandIns(join(dir, "../cmd/_bin"));
  return results;
}

/**
 * The parent cgroup runc's helpers make (runc-cgroups-integration-test) once its teardown could
 * not remove it (a zombie still counted in it then): removed here, deepest first.
 */
function removeSuiteCgroups(): string[] {
  const left: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const top = join("/sys/fs/cgroup", h, "runc-cgroups-integration-test");
    if (!existsSync(top)) continue;
    const dirs = Bun.spawnSync(["find", top, "-depth", "-type", "d"]).stdout.toString().split("\n").filter(Boolean);
    for (const d of dirs) Bun.spawnSync(["rmdir", d]);
    if (existsSync(top)) left.push(top);
  }
  return left;
}

async function main() {
  if (process.geteuid?.() !== 0) throw new Error("runc's integration tests need root");
  const missing = ["bats", "gawk", "jq", "python3", "xz", "debootstrap"].filter((b) => !Bun.which(b, { PATH: `${process.env.PATH}:/usr/sbin:/sbin` }));
  if (missing.length) throw new Error(`missing ${missing.join(", ")} (apt-get install bats gawk jq xz-utils debootstrap)`);
  const argv = process.argv.slice(2);
  const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const runc = join(PROJECT, "dist/bunc");
  if (!existsSync(runc)) throw new Error("no dist/bunc: bun run build first");
  const dir = await integrationDir();
  standIns(dir);
  const only = opt("--only")?.split(",");
  const files = readdirSync(dir).filter((f) => f.endsWith(".bats") && !LEFT_OUT.has(f) && (!only || only.includes(f))).sort();
  const tap: string[] = [];
  const all: Result[] = [];
  const tmp = mkdtempSync(join(tmpdir(), "bunc-runc-bats-"));
  // Searchable by all, as the suite makes its own directories below it (setup_bundle): a
  // container's root in a user namespace must reach its rootfs through it.
  chmodSync(tmp, 0o711);
  for (const file of files) {
    const started = Date.now();
    const results = await runFile(dir, file, runc, tmp, tap);
    all.push(...results);
    const failed = results.filter((r) => !r.ok).length;
    log(`${file}: ${results.length - failed} ok, ${failed} not ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  if (opt("--tap")) writeFileSync(opt("--tap")!, tap.join("\n") + "\n");
  rmSync(tmp, { recursive: true, force: true });
  const leftCgroups = removeSuiteCgroups();
  if (leftCgroups.length) log(`left by the suite and still busy: ${leftCgroups.join(", ")}`);
  const failures = all.filter((r) => !r.ok);
  const unexplained = failures.filter((f) => !EXPECTED[f.name]);
  const byReason = new Map<string, string[]>();
  for (const f of failures) if (EXPECTED[f.name]) byReason.set(EXPECTED[f.name]!, [...(byReason.get(EXPECTED[f.name]!) ?? []), f.name]);
  const skipped = all.filter((r) => r.skip !== undefined).length;
  const stale = only ? [] : Object.keys(EXPECTED).filter((name) => all.some((r) => r.name === name && r.ok && r.skip === undefined));
  console.log(`runc ${VERSION}'s integration tests against bunc: ${all.length} tests in ${files.length} files; ` +
    `${all.length - failures.length - skipped} passed, ${skipped} skipped (by the suite's own checks of this host), ${failures.length} failed ` +
    `(${failures.length - unexplained.length} expected, ${unexplained.length} unexplained)`);
  for (const [why, names] of byReason) console.log(`\nexpected, ${names.length}: ${why}\n${names.map((n) => `  - ${n}`).join("\n")}`);
  if (stale.length) console.log(`\npassed although listed as expected to fail (scripts/runc-bats/expected.ts):\n${stale.map((n) => `  - ${n}`).join("\n")}`);
  for (const f of unexplained) console.log(`\nUNEXPLAINED: ${f.file}: ${f.name}\n${f.detail.slice(0, 20).join("\n")}`);
  process.exitCode = unexplained.length ? 1 : 0;
}

if (import.meta.main) await main();
