// createBundle and the `bunc bundle` command (called through citty's runCommand).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBundle, mergeEnv } from "../../src/bundle";
import { alpineTarball } from "../../scripts/alpine-tarball";

let tmp: string;
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
  process.exitCode = 0;
});
const scratch = () => (tmp = mkdtempSync(join(tmpdir(), "bunc-bundle-")));
const config = (dir: string) => JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));

/** Runs `bunc bundle ...` through the real CLI; its exit status lands in process.exitCode. */
async function run(rawArgs: string[]): Promise<string> {
  const p = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../src/cli/main.ts"), "bundle", ...rawArgs], { stderr: "pipe" });
  process.exitCode = p.exitCode ?? 1;
  return p.stderr.toString();
}

describe("bundle", () => {
  test("createBundle writes rootfs/ and a default config.json", async () => {
    scratch();
    const dir = join(tmp, "b");
    await createBundle(alpineTarball(), dir, { rootless: true, args: ["echo", "hi"], env: ["TERM=dumb", "A=1"], hostname: "h", cwd: "/tmp", terminal: false });
    expect(readdirSync(dir).sort()).toEqual(["config.json", "rootfs"]);
    expect(existsSync(join(dir, "rootfs/bin/busybox"))).toBe(true);
    const c = config(dir);
    expect(c.process).toMatchObject({ args: ["echo", "hi"], cwd: "/tmp", terminal: false });
    expect(c.process.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb", "A=1"]);
    expect(c.hostname).toBe("h");
    expect(c.root.path).toBe("rootfs");
    expect(c.linux.namespaces).toContainEqual({ type: "user" });
  });

  test("mergeEnv overrides by key and rejects entries without '='", () => {
    expect(mergeEnv(["A=1", "B=2"], ["B=3", "C="])).toEqual(["A=1", "B=3", "C="]);
    expect(() => mergeEnv([], ["oops"])).toThrow(/KEY=VALUE/);
  });

  test("bunc bundle: flags, repeated --env and args after --, silent on success", async () => {
    scratch();
    const dir = join(tmp, "b");
    const err = await run([alpineTarball(), dir, "--hostname", "box", "--cwd", "/root", "--env", "X=1", "-e", "Y=2", "--env=Z=3", "--tty", "--", "sh", "-c", "echo --env"]);
    expect(err).toBe("");
    expect(process.exitCode || 0).toBe(0);
    const c = config(dir);
    expect(c.process.args).toEqual(["sh", "-c", "echo --env"]);
    expect(c.process.env).toContain("X=1");
    expect(c.process.env).toContain("Y=2");
    expect(c.process.env).toContain("Z=3");
    expect(c.process.terminal).toBe(true);
    expect(c.hostname).toBe("box");
    expect(c.process.cwd).toBe("/root");
    expect(c.linux.namespaces).not.toContainEqual({ type: "user" });
  });

  test("bunc bundle: a non-empty dir needs --force; a bad tarball leaves nothing behind", async () => {
    scratch();
    const dir = join(tmp, "b");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep"), "x");
    expect(await run([alpineTarball(), dir])).toMatch(/^bunc: cannot create bundle: .* is not empty \(use --force to replace it\)\n$/);
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    expect(await run([alpineTarball(), dir, "--force"])).toBe("");
    expect(config(dir).process.args).toEqual(["sh"]);

    const junk = join(tmp, "junk.tar.gz");
    writeFileSync(junk, "not a tarball at all".repeat(100));
    const fresh = join(tmp, "fresh");
    expect(await run([junk, fresh])).toBe(`bunc: cannot unpack ${junk}: not a gzip or tar archive (unknown magic bytes)\n`);
    expect(process.exitCode).toBe(1);
    expect(existsSync(fresh)).toBe(false);
  });
});
