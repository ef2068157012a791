// Needs root and the npm registry (or Bun's cache). The package installs into a project
// outside the clone (`file:` dependency, as `bun add <path>`), and every ```ts example of
// docs/library.md runs there as written, so the docs cannot drift.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRoot, mountsUnder, PROJECT } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { ociArchiveOf } from "../support/oci";

const project = mkdtempSync(join(tmpdir(), "bunc-consumer-"));
const examples = [...readFileSync(join(PROJECT, "docs/library.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const bun = process.execPath;

afterAll(() => {
  const left = mountsUnder(project);
  rmSync(project, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe.skipIf(!isRoot)("the library from another project (root)", () => {
  beforeAll(() => {
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { "@bunc/runtime": `file:${PROJECT}` } }));
    const r = Bun.spawnSync([bun, "install"], { cwd: project, stdout: "pipe", stderr: "pipe", env: { ...process.env, BUN_INSTALL_CACHE_DIR: process.env.BUN_INSTALL_CACHE_DIR ?? "" } });
    if (r.exitCode !== 0) throw new Error(`bun install: ${r.stderr}`);
    copyFileSync(alpineTarball(), join(project, "alpine.tar.gz"));
    ociArchiveOf(alpineTarball(), join(project, "alpine-oci.tar"), "3.20");
  }, 300_000);

  test("the docs have examples", () => expect(examples.length).toBeGreaterThanOrEqual(4));

  test.each(examples.map((e, i) => [i, e] as const))("example %d runs as written", (i, code) => {
    // An example of tests (useContainer) runs under `bun test`, which reports on stderr.
    const isTest = code.includes(`from "bun:test"`);
    const file = join(project, `example-${i}${isTest ? ".test" : ""}.ts`);
    writeFileSync(file, code);
    const r = Bun.spawnSync([bun, ...(isTest ? ["test", `./example-${i}.test.ts`] : [file])], { cwd: project, stdout: "pipe", stderr: "pipe", env: { ...process.env, BUNC_ROOT: join(project, "state"), BUNC_CACHE_DIR: join(project, "cache") }, timeout: 120_000 });
    if (isTest) {
      expect({ code: r.exitCode, fails: r.stderr.toString().match(/^ *(\d+) fail$/m)?.[1] }).toEqual({ code: 0, fails: "0" });
      expect(r.stderr.toString()).toMatch(/^ *[1-9]\d* pass$/m);
    } else expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 0, stderr: "" });
  }, 180_000);

  test("nothing is left in the default state directory of the examples", () => {
    let left: string[] = [];
    try { left = readdirSync("/run/bunc").filter((n) => n.startsWith("bunc-") || n === "demo"); } catch {}
    expect(left).toEqual([]);
  });
});
