#!/usr/bin/env bun
// crun's own test suite (tests/test_*.py of crun 1.21, the source Debian ships) run against
// dist/bunc: what an engineer who knows crun tries. Its static test init (tests/init.c) is
// built here; scripts/crun-tests/runtime.sh passes crun's flags on as bunc's, and
// scripts/crun-tests/libmount.py stands in for util-linux's Python binding (not in Debian).
// Each failure is matched against scripts/crun-tests/expected.ts (why it fails here and is not
// a bunc bug) or reported as unexplained.
//   bun scripts/crun-tests.ts [--only test_exec.py,...]
// Root only; needs python3 and a C compiler with a static libc (apt-get install gcc libc6-dev).
// Downloads crun's source once into fixtures/cache/. Exits 1 on an unexplained failure.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EXPECTED } from "./crun-tests/expected";
import { unpackedSource } from "./source-archive";

const PROJECT = resolve(import.meta.dir, "..");
const VERSION = "1.21";
const SOURCE = `crun_${VERSION}.orig.tar.gz`;
const URL = `http://deb.debian.org/debian/pool/main/c/crun/${SOURCE}`;
const SHA256 = "4bfb700e764a4804a4de3ecf07753f4c391005356d60356df65d80ae0914c486";
/** Left out: checkpoint/restore needs CRIU, which bunc does not offer. */
const LEFT_OUT = new Set(["test_checkpoint_restore.py"]);
const FILE_TIMEOUT_MS = 10 * 60_000;

const log = (s: string) => console.error(`crun-tests: ${s}`);

/** The unpacked tests/ of crun's source, fetched and checked once. */
function testsDir(): Promise<string> {
  return unpackedSource({ url: URL, sha256: SHA256, tree: `crun-${VERSION}-tests`, done: "tests_utils.py", tarArgs: ["--strip-components=2", `crun-${VERSION}/tests`], log });
}

/**
 * The suite in a directory of this run's own (it writes .testsuite-run-PID there), with two
 * changes to tests_utils.py, both the harness's and not the tests':
 *   - a config that asks for a new user namespace without uidMappings gets the identity
 *     mapping: runc and bunc refuse such a config (crun maps the caller's id), and each such
 *     test checks the same thing without the user namespace right after;
 *   - before the suite removes its state root, every container a failed test left is deleted
 *     (a cgroup v1 freezer test's "frozen" cgroup thawed first), so none stays running.
 */
function prepare(tests: string, work: string): void {
  cpSync(tests, work, { recursive: true });
  const utils = join(work, "tests_utils.py");
  let text = readFileSync(utils, "utf8");
  const loop = `    for i in namespaces:\n        if i not in has:\n            conf['linux']['namespaces'].append({"type" : i})\n`;
  const cleanup = `        shutil.rmtree(tests_root)\n`;
  if (!text.includes(loop) || !text.includes(cleanup)) throw new Error(`${utils}: not the text this harness changes`);
  text = text.replace(loop, loop +
    `    if userns and not conf['linux'].get('uidMappings'):\n` +
    `        conf['linux']['uidMappings'] = [{"containerID": 0, "hostID": 0, "size": 4294967295}]\n` +
    `        conf['linux']['gidMappings'] = [{"containerID": 0, "hostID": 0, "size": 4294967295}]\n`);
  text = text.replace(cleanup, `        _harness_cleanup()\n` + cleanup);
  text += `
def _harness_cleanup():
    frozen = "/sys/fs/cgroup/freezer/frozen"
    if os.path.exists(frozen + "/freezer.state"):
        with open(frozen + "/freezer.state", "w") as f:
            f.write("THAWED")
    root = get_tests_root_status()
    if os.path.isdir(root):
        for cid in os.listdir(root):
            subprocess.call([get_crun_path(), "--root", root, "delete", "-f", cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.path.isdir(frozen):
        try:
            os.rmdir(frozen)
        except OSError:
            pass
`;
  writeFileSync(utils, text);
  // init.c's config.h (autoconf's, absent from the tests/ directory).
  writeFileSync(join(work, "config.h"), "#define HAVE_LINUX_IOPRIO_H 1\n#define HAVE_ERROR_H 1\n");
  const cc = Bun.spawnSync(["cc", "-static", "-O2", "-I", work, "-o", join(work, "init"), join(work, "init.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`building crun's test init: ${cc.stderr}`);
}

/** Files whose terminal tests need the suite's own stdout to be a terminal (os.isatty(1)). */
const ON_A_TERMINAL = new Set(["test_tty.py", "test_exec.py"]);

export interface Result { file: string; name: string; ok: boolean; skip: boolean }

/** One line of the suite's TAP: "ok N - name", "not ok N - name", "ok N - name #SKIP". */
export function parseLine(file: string, line: string): Result | undefined {
  const m = line.match(/^(ok|not ok) \d+ - (.*?)( #SKIP)?$/);
  return m ? { file, name: m[2]!, ok: m[1] === "ok", skip: !!m[3] } : undefined;
}

async function runFile(work: string, file: string, env: Record<string, string>): Promise<{ results: Result[]; stderr: string }> {
  // Tests of a terminal skip themselves unless the suite's stdout is one: those files run on a
  // pseudo-terminal of util-linux's script(1) (TAP lines then end in CRLF; stderr comes in too).
  const cmd = ON_A_TERMINAL.has(file) ? ["script", "-qfec", `python3 ${file}`, "/dev/null"] : ["python3", file];
  const p = Bun.spawn(cmd, { cwd: work, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), FILE_TIMEOUT_MS);
  const [out, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  clearTimeout(timer);
  await p.exited;
  // On a terminal the file's stderr came with its stdout: all of it is what a failure shows.
  return { results: out.split(/\r?\n/).map((l) => parseLine(file, l)).filter((r): r is Result => !!r), stderr: ON_A_TERMINAL.has(file) ? out : stderr };
}

async function main() {
  if (process.geteuid?.() !== 0) throw new Error("crun's tests need root");
  const missing = ["python3", "cc"].filter((b) => !Bun.which(b));
  if (missing.length) throw new Error(`missing ${missing.join(", ")} (apt-get install python3 gcc libc6-dev)`);
  const argv = process.argv.slice(2);
  const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1]!.split(",") : undefined;
  const bunc = join(PROJECT, "dist/bunc");
  if (!existsSync(bunc)) throw new Error("no dist/bunc: bun run build first");
  const work = mkdtempSync(join(tmpdir(), "bunc-crun-tests-"));
  // The suite makes temporary bundles with Python's tempfile and leaves them: in TMPDIR, a
  // directory of this run's own, removed with it (reachable by a container's non-root user).
  chmodSync(work, 0o755);
  const tmp = join(work, "tmp");
  mkdirSync(tmp, { mode: 0o1777 });
  chmodSync(tmp, 0o1777);
  const all: Result[] = [];
  const stderrs = new Map<string, string>();
  try {
    prepare(await testsDir(), work);
    const env = { INIT: join(work, "init"), OCI_RUNTIME: join(import.meta.dir, "crun-tests/runtime.sh"), BUNC: bunc, PYTHONPATH: join(import.meta.dir, "crun-tests"), TMPDIR: tmp };
    const files = readdirSync(work).filter((f) => /^test_.*\.py$/.test(f) && !LEFT_OUT.has(f) && (!only || only.includes(f))).sort();
    for (const file of files) {
      const started = Date.now();
      const { results, stderr } = await runFile(work, file, env);
      all.push(...results);
      stderrs.set(file, stderr);
      const failed = results.filter((r) => !r.ok).length;
      log(`${file}: ${results.length - failed} ok, ${failed} not ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const key = (r: Result) => `${r.file}: ${r.name}`;
  const failures = all.filter((r) => !r.ok);
  const unexplained = failures.filter((f) => !EXPECTED[key(f)]);
  const byReason = new Map<string, string[]>();
  for (const f of failures) if (EXPECTED[key(f)]) byReason.set(EXPECTED[key(f)]!, [...(byReason.get(EXPECTED[key(f)]!) ?? []), key(f)]);
  const skipped = all.filter((r) => r.skip).length;
  const stale = only ? [] : Object.keys(EXPECTED).filter((k) => all.some((r) => key(r) === k && r.ok && !r.skip));
  console.log(`crun ${VERSION}'s tests against bunc: ${all.length} tests; ${all.length - failures.length - skipped} passed, ` +
    `${skipped} skipped (by the suite's own checks), ${failures.length} failed (${failures.length - unexplained.length} expected, ${unexplained.length} unexplained)`);
  const skippedNames = all.filter((r) => r.skip).map(key);
  if (skippedNames.length) console.log(`\nskipped by the suite (it checks the host, the kernel or its own build first):\n${skippedNames.map((n) => `  - ${n}`).join("\n")}`);
  for (const [why, names] of byReason) console.log(`\nexpected, ${names.length}: ${why}\n${names.map((n) => `  - ${n}`).join("\n")}`);
  if (stale.length) console.log(`\npassed although listed as expected to fail (scripts/crun-tests/expected.ts):\n${stale.map((n) => `  - ${n}`).join("\n")}`);
  for (const f of unexplained) console.log(`\nUNEXPLAINED: ${key(f)}\n${(stderrs.get(f.file) ?? "").split("\n").slice(0, 20).join("\n")}`);
  process.exitCode = unexplained.length ? 1 : 0;
}

if (import.meta.main) await main();
