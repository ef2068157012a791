// Needs root. Every ```sh block of README.md's "Using bunc" section, run as written: bunc
// on the PATH, the Alpine minirootfs as ./alpine.tar.gz, a private state root (BUNC_ROOT).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUNC, isRoot, mountsUnder, PROJECT } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { ociArchiveOf } from "../support/oci";

/** The shell blocks between "## Using bunc" and the next "## " heading. */
export function usageBlocks(readme: string): string[] {
  const start = readme.indexOf("\n## Using bunc");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

const work = mkdtempSync(join(tmpdir(), "bunc-readme-"));
const root = join(work, "state");
const bin = join(work, "bin");

afterAll(() => {
  for (const id of (() => { try { return readdirSync(root); } catch { return []; } })())
    Bun.spawnSync([...BUNC, "--root", root, "delete", "--force", id]);
  const left = mountsUnder(work);
  rmSync(work, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe.skipIf(!isRoot || BUNC.length !== 1)("README usage (root)", () => {
  const blocks = usageBlocks(readFileSync(join(PROJECT, "README.md"), "utf8"));

  test("the section has command blocks", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  test.each(blocks.map((b, i) => [i, b] as const))("block %d runs as written", (_i, block) => {
    mkdirSync(bin, { recursive: true });
    try { symlinkSync(BUNC[0]!, join(bin, "bunc")); } catch {}
    try { symlinkSync(alpineTarball(), join(work, "alpine.tar.gz")); } catch {}
    if (!existsSync(join(work, "app.tar"))) ociArchiveOf(alpineTarball(), join(work, "app.tar"), "v1"); // the Images block's OCI archive
    const r = Bun.spawnSync(["bash", "-euo", "pipefail", "-c", block], {
      cwd: work, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BUNC_ROOT: root, BUNC_CACHE_DIR: join(work, "cache") }, timeout: 120_000,
    });
    const out = r.stdout.toString(), err = r.stderr.toString();
    expect({ code: r.exitCode, err: r.exitCode ? err : "" }).toEqual({ code: 0, err: "" });
    if (block.includes("/bin/echo hi")) expect(out).toContain("hi\n");
    if (block.includes("./hello")) expect(out).toMatch(/hello from Alpine 3\.\d+/);
    if (block.includes("bunc exec web ps")) expect(out).toContain("sleep 300");
    if (block.includes("--image app.tar:v1")) expect(out).toMatch(/^3\.\d+\.\d+\nhi from \/\n[\s\S]*app\.tar/);
    if (block.includes("-v ./project:/src:ro")) expect(out).toMatch(/^tests pass in 3\.\d+\.\d+\nfrom stdin\n[\s\S]*localhost/);
  });
});

/** The first screen's dev script, as a project would have it: its ./test.sh run in Alpine. */
describe.skipIf(!isRoot)("README: the dev script (root)", () => {
  test("runs the project's tests in the image with the project mounted and the network on", () => {
    const readme = readFileSync(join(PROJECT, "README.md"), "utf8");
    const start = readme.indexOf("\n## In a dev script");
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThan(readme.indexOf("\n## Try it"));
    const script = /```ts\n([\s\S]*?)```/.exec(readme.slice(start))![1]!;
    const project = join(work, "dev-project");
    mkdirSync(project, { recursive: true });
    try { symlinkSync(alpineTarball(), join(project, "alpine.tar.gz")); } catch {}
    writeFileSync(join(project, "test.sh"), "echo tests pass in $(cat /etc/alpine-release) > /src/result; cat /src/result; test -s /etc/resolv.conf || test -e /etc/hosts\n");
    writeFileSync(join(project, "ci.ts"), script.replace(`"@bunc/runtime"`, JSON.stringify(join(PROJECT, "src/index.ts"))));
    const r = Bun.spawnSync([process.execPath, "ci.ts"], { cwd: project, env: { ...process.env, BUNC_ROOT: root, BUNC_CACHE_DIR: join(work, "cache") }, timeout: 120_000 });
    expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
    expect(r.stdout.toString()).toMatch(/^tests pass in 3\.\d+\.\d+\n$/);
    // written through the mount into the project's directory
    expect(readFileSync(join(project, "result"), "utf8")).toMatch(/^tests pass in 3\./);
  });
});

/** The "Try it" section's commands, as a newcomer types them in a clone. */
describe.skipIf(!isRoot || process.env.BUNC_BIN !== undefined)("README: try it (root)", () => {
  const tryIt = (() => {
    const readme = readFileSync(join(PROJECT, "README.md"), "utf8");
    const start = readme.indexOf("\n## Try it");
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
    return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n")).map((l) => l.replace(/\s+#.*$/, "").trim()).filter(Boolean);
  })();

  test("the one-command demo greets from Alpine, and runs a command given", () => {
    expect(tryIt).toEqual(["bash scripts/demo.sh", "bash scripts/demo.sh cat /etc/os-release"]);
    const hello = Bun.spawnSync(["bash", "-c", tryIt[0]!], { cwd: PROJECT, timeout: 120_000 });
    expect(hello.stdout.toString()).toMatch(/^hello from Alpine 3\.\d+\.\d+: PID 1, hostname bunc, user root\n$/);
    const os = Bun.spawnSync(["bash", "-c", tryIt[1]!], { cwd: PROJECT, timeout: 120_000 });
    expect(os.stdout.toString()).toContain('ID=alpine');
  });
});
