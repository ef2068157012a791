// Needs root. useContainer()/withContainer() (src/testing.ts): a container per test, removed
// when the test passes, fails or times out. The failing and timing-out tests run in a child
// `bun test` on a file written here; this file then looks for what they left.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot, mountsUnder, pidAlive, PROJECT } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { useContainer, withContainer } from "../../src/index";

const sb = fileSandbox();
const stateIds = (root: string) => (existsSync(root) ? readdirSync(root).filter((n) => !n.startsWith(".")) : []);

describe.skipIf(!isRoot)("useContainer (root)", () => {
  let firstId = "";

  test("gives the test a running container to exec in", async () => {
    const box = await useContainer({ image: alpineTarball(), root: sb.root });
    firstId = box.id;
    expect(stateIds(sb.root)).toContain(box.id);
    const r = await box.exec(["cat", "/etc/alpine-release"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^3\.\d+\.\d+\n$/);
  }, 60_000);

  test("which is gone once that test has ended", () => {
    expect(firstId).not.toBe("");
    expect(stateIds(sb.root)).not.toContain(firstId);
    expect(mountsUnder(sb.root)).toEqual([]);
  });

  test("withContainer: the same as a test function", withContainer({ image: alpineTarball(), root: sb.root, env: { GREETING: "hi" } }, async (box) => {
    expect((await box.exec(["sh", "-c", "echo $GREETING"])).stdout).toBe("hi\n");
  }), 60_000);

  test("a test that fails or times out leaves no container, mount or process", () => {
    const root = join(sb.dir, "child-root");
    const ids = join(sb.dir, "child-ids");
    const file = join(sb.dir, "child.test.ts");
    writeFileSync(file, `
import { test, expect } from "bun:test";
import { appendFileSync } from "node:fs";
import { useContainer } from ${JSON.stringify(join(PROJECT, "src/index.ts"))};
const o = { image: ${JSON.stringify(alpineTarball())}, root: ${JSON.stringify(root)} };
test("fails", async () => {
  const box = await useContainer(o);
  appendFileSync(${JSON.stringify(ids)}, box.id + " " + box.pid + "\\n");
  expect("container").toBe("something else");
});
test("times out", async () => {
  const box = await useContainer(o);
  appendFileSync(${JSON.stringify(ids)}, box.id + " " + box.pid + "\\n");
  await box.exited;
}, 3000);
`);
    const p = Bun.spawnSync([process.execPath, "test", file], { cwd: sb.dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, BUNC_CACHE_DIR: join(sb.dir, "cache") }, timeout: 120_000 });
    const out = p.stdout.toString() + p.stderr.toString();
    expect(p.exitCode).not.toBe(0);
    expect(out).toContain("(fail) fails");
    expect(out).toContain("(fail) times out");
    const made = readFileSync(ids, "utf8").trim().split("\n").map((l) => l.split(" "));
    expect(made).toHaveLength(2);
    expect(stateIds(root)).toEqual([]);
    expect(mountsUnder(sb.dir)).toEqual([]);
    for (const [, pid] of made) expect(pidAlive(Number(pid))).toBe(false);
  }, 150_000);
});
