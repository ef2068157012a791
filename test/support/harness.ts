// Integration test harness: runs the real bunc (dist/bunc, or the sources when it is
// not built), on Alpine bundles unpacked by bunc itself, with a private --root per file
// that is checked for leftovers and removed afterwards.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { unpackRootfs } from "../../src/bundle";
import { defaultSpec } from "../../src/spec/default";

export const PROJECT = resolve(import.meta.dir, "../..");
export const isRoot = process.geteuid?.() === 0;
const BIN = process.env.BUNC_BIN ?? join(PROJECT, "dist/bunc");
export const BUNC: string[] = existsSync(BIN) ? [BIN] : [process.execPath, join(PROJECT, "src/cli/main.ts")];

export interface Result { code: number; stdout: string; stderr: string }

/** A private state root plus the scratch directories of one test file. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), "bunc-test-"));
  readonly root = join(this.dir, "state");
  private static seq = 0;

  run(args: string[], opts: { stdin?: string; env?: Record<string, string>; cwd?: string; timeout?: number } = {}): Result {
    // Files, not pipes: a created container keeps bunc's stdio open, as with runc.
    const out = join(this.dir, `.out-${++Sandbox.seq}`), err = `${out}.err`;
    const p = Bun.spawnSync({
      cmd: [...BUNC, "--root", this.root, ...args],
      stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
      stdout: Bun.file(out),
      stderr: Bun.file(err),
      // One-shot runs cache their rootfs under the sandbox, not in /var/cache/bunc.
      env: { BUNC_CACHE_DIR: join(this.dir, "cache"), ...process.env, ...opts.env },
      cwd: opts.cwd,
      timeout: opts.timeout ?? 30_000,
    });
    const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
    const r = { code: p.exitCode ?? 128 + 9, stdout: read(out), stderr: read(err) };
    rmSync(out, { force: true });
    rmSync(err, { force: true });
    return r;
  }

  /** Like run, but fails the test when bunc does. */
  ok(args: string[], opts?: Parameters<Sandbox["run"]>[1]): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`bunc ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** A shared read-only Alpine rootfs, unpacked once per test file. */
  async sharedRootfs(): Promise<string> {
    const dir = join(this.dir, "alpine");
    if (!existsSync(join(dir, "bin/busybox"))) await unpackRootfs(alpineTarball(), dir);
    return dir;
  }

  /**
   * A bundle running `args`; `edit` adjusts the config. With `ownRootfs` the bundle has
   * a private writable copy; otherwise it uses the shared rootfs read-only.
   */
  async bundle(name: string, args: string[], edit: (c: any) => void = () => {}, ownRootfs = false): Promise<string> {
    const b = join(this.dir, name);
    const shared = await this.sharedRootfs();
    let rootPath = shared;
    if (ownRootfs) {
      rootPath = join(b, "rootfs");
      cpSync(shared, rootPath, { recursive: true, verbatimSymlinks: true });
    }
    const c: any = defaultSpec({ args, terminal: false, rootfs: rootPath, cgroupNamespace: true });
    c.root.readonly = !ownRootfs;
    edit(c);
    require("node:fs").mkdirSync(b, { recursive: true });
    writeFileSync(join(b, "config.json"), JSON.stringify(c, null, 1));
    return b;
  }

  containers(): string[] {
    try {
      return readdirSync(this.root);
    } catch {
      return [];
    }
  }

  /** Force-deletes whatever a failed test left, then removes the scratch tree. */
  cleanup(): void {
    for (const id of this.containers()) this.run(["delete", "--force", id]);
    for (const m of mountsUnder(this.dir).reverse()) Bun.spawnSync(["umount", "-l", m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The sandbox of one test file: removed after the file's tests, which fail if any
 * container or mount was left behind.
 */
export function fileSandbox(): Sandbox {
  const sb = new Sandbox();
  const { afterAll, expect } = require("bun:test") as typeof import("bun:test");
  afterAll(() => {
    const left = sb.containers();
    const mounts = mountsUnder(sb.dir);
    sb.cleanup();
    expect(left).toEqual([]);
    expect(mounts).toEqual([]);
  });
  return sb;
}

/** Mount points on the host below `dir` (there must be none after a test). */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(dir));
}

/**
 * Polls until `cond` holds. The deadline only turns a hang into a failure: it is long,
 * because a loaded machine is slow, and no test depends on how soon the condition holds.
 */
export function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): void {
  const end = Date.now() + timeoutMs;
  for (let i = 0; !cond(); i++) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    Bun.sleepSync(i < 100 ? 5 : 25);
  }
}

/** waitFor with the event loop running (for conditions fed by streams or child processes). */
export async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; !cond(); i++) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await Bun.sleep(i < 100 ? 5 : 25);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}
