// Images run by an unprivileged user (root sets up, then bunc runs as uid 65534 with setpriv,
// as rootless.test.ts does): no layer cache, every layer applied onto a private copy, owners
// and devices skipped as a user cannot make them. The image is made here without podman: the
// Alpine minirootfs as its first layer, then two layers written by the test with what is hard
// for a user to apply: read-only directories later layers write into and delete from (Fedora's
// /usr/bin is 0555), whiteouts, an opaque directory, a hard link to a lower layer's file,
// foreign owners, an xattr only root may set, a device node.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot } from "../support/harness";
import { layeredImage } from "../support/oci";
import { pack } from "../support/tar";
import { alpineTarball } from "../../scripts/alpine-tarball";

const sb = fileSandbox();
const hasSetpriv = !!Bun.which("setpriv");
const NOBODY = 65534;

describe.skipIf(!isRoot || !hasSetpriv)("images run by an unprivileged user (root to set up)", () => {
  const root = join(sb.dir, "run");
  const cache = join(sb.dir, "cache");
  const archive = join(sb.dir, "img.tar");

  afterAll(() => {
    Bun.spawnSync(["chown", "-R", "0:0", sb.dir]);
  });

  /** bunc as uid 65534, its root in `root`; BUNC_CACHE_DIR points where nothing may be written. */
  function asNobody(args: string[]) {
    const p = Bun.spawnSync(["setpriv", "--reuid", String(NOBODY), "--regid", String(NOBODY), "--clear-groups", ...BUNC, "--root", root, ...args], {
      cwd: "/", stdout: "pipe", stderr: "pipe", timeout: 60_000, env: { ...process.env, BUNC_CACHE_DIR: cache },
    });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  }

  test("a layered OCI archive one-shot: the layers applied as a user can (read-only dirs, whiteouts, opaque dir, links), its config, nothing left", async () => {
    chmodSync(sb.dir, 0o755);
    mkdirSync(root, { mode: 0o700 });
    chownSync(root, NOBODY, NOBODY);
    const m = new Date("2024-01-02T03:04:05Z");
    const d = (name: string, mode = 0o755, more = {}) => [{ name, type: "directory" as const, mode, mtime: m, ...more }] as [any];
    const f = (name: string, body: string, mode = 0o644, more = {}) => [{ name, mode, mtime: m, ...more }, body] as [any, string];
    const layer2 = await pack([
      d("usr"), d("usr/bin", 0o555), f("usr/bin/old", "old\n", 0o755),
      d("data", 0o755, { uid: 123, gid: 45 }), f("data/f", "mine\n", 0o640, { uid: 123, gid: 45 }), f("data/keep", "keep\n"), f("data/gone", "gone\n"),
      d("data/ro", 0o555), f("data/ro/old", "old\n"),
      f("data/attrs", "attrs\n", 0o644, { pax: { "SCHILY.xattr.user.bunc": "v1", "SCHILY.xattr.trusted.bunc": "v2" } }),
      d("opq"), f("opq/x", "x\n"),
      d("dev"), [{ name: "dev/bunc-null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666, mtime: m }],
    ]);
    const layer3 = await pack([
      d("usr"), d("usr/bin", 0o555), f("usr/bin/.wh.old", ""), f("usr/bin/bunc-tool", "#!/bin/sh\necho tool ran\n", 0o755),
      d("data", 0o755, { uid: 123, gid: 45 }), f("data/.wh.gone", ""), [{ name: "data/hard", type: "link", linkname: "data/keep", mode: 0o644, mtime: m }],
      d("data/ro", 0o555), f("data/ro/.wh.old", ""), f("data/ro/new", "new\n"),
      d("opq"), f("opq/.wh..wh..opq", ""), f("opq/y", "y\n"),
    ]);
    layeredImage(`${archive}.layout`, {
      tarball: alpineTarball(), layers: [layer2, layer3], tag: "v1", archive,
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "FOO=bar"], WorkingDir: "/data", Cmd: ["sh", "-c", "echo $FOO from $(pwd) as $(id -u)"] },
    });
    chmodSync(archive, 0o644);

    // What a user cannot make is said once each, on stderr.
    const warnings = [
      "bunc: warn: skipped xattrs this process may not set (EPERM), e.g. trusted.bunc on data/attrs",
      "bunc: warn: skipped device nodes (not root), e.g. dev/bunc-null", "",
    ].join("\n");
    const plain = asNobody(["run", "--image", archive]);
    expect(plain.stderr).toBe(warnings);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe("bar from /data as 0\n");

    const check = [
      "cat /data/f /data/hard", "ls /opq", "ls /data/ro", "test -e /data/gone || echo gone is gone", "test -e /usr/bin/old || echo old is gone",
      "bunc-tool", "stat -c '%a %u' /usr/bin /data/ro /data/f", "test -e /dev/bunc-null || echo no device", "echo written > /data/ro/new && cat /data/ro/new",
    ].join("; ");
    const r = asNobody(["run", "--image", `${archive}:v1`, "--", "sh", "-c", check]);
    expect(r.stdout).toBe([
      "mine", "keep", "y", "new", "gone is gone", "old is gone", "tool ran", "555 0", "555 0", "640 0", "no device", "written", "",
    ].join("\n"));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(warnings);
    // The private copy is gone with the run; a user's run writes no cache.
    expect(readdirSync(root)).toEqual([]);
    expect(existsSync(cache)).toBe(false);
  }, 120_000);

  test("a user's errors are one line too: an unknown tag names the tags, a missing file names itself", () => {
    const tag = asNobody(["run", "--image", `${archive}:nope`, "--", "true"]);
    expect(tag.code).toBe(1);
    expect(tag.stderr.trim().split("\n")).toHaveLength(1);
    expect(tag.stderr).toMatch(/no image tagged nope.*v1/);
    const missing = asNobody(["run", "--image", join(sb.dir, "nowhere.tar"), "--", "true"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`bunc: ${join(sb.dir, "nowhere.tar")}: no such image, tarball, rootfs or bundle\n`);
    expect(readdirSync(root)).toEqual([]);
  }, 60_000);
});
