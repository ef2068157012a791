// The image pieces that need no root: tags as users write them, PATH:TAG, what the config
// decides, the tar header index (ustar, PAX and GNU long names), schema errors.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tagMatches, ociArch } from "../../src/image/manifest";
import { splitImageRef } from "../../src/image/ref";
import { imageProcess } from "../../src/image/config";
import { indexTarBytes } from "../../src/bundle/tar-index";
import { ImageConfigSchema, IndexSchema, parseJson } from "../../src/image/schema";
import { whiteoutTarget } from "../../src/bundle/whiteouts";
import { pack } from "../support/tar";
import { listImages } from "../../src/image/cache";

const config = (c: object) => parseJson(ImageConfigSchema, new TextEncoder().encode(JSON.stringify({ rootfs: { type: "layers", diff_ids: [] }, config: c })), "t");

describe("image", () => {
  test("tags match as users write them", () => {
    expect(tagMatches("localhost/app:v1", "v1")).toBe(true);
    expect(tagMatches("localhost/app:v1", "app:v1")).toBe(true);
    expect(tagMatches("localhost/app:v1", "localhost/app:v1")).toBe(true);
    expect(tagMatches("docker.io/library/alpine:latest", "alpine")).toBe(true);
    expect(tagMatches("localhost/app:v1", "v2")).toBe(false);
    expect(tagMatches("localhost/app:v1", "pp:v1")).toBe(false);
    expect(tagMatches("localhost/app:v1", "app")).toBe(false);
  });

  test("PATH:TAG splits at the longest existing path", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-ref-"));
    try {
      writeFileSync(join(dir, "a.tar"), "");
      writeFileSync(join(dir, "odd:name.tar"), "");
      expect(splitImageRef(join(dir, "a.tar"))).toEqual({ path: join(dir, "a.tar") });
      expect(splitImageRef(join(dir, "a.tar:v1"))).toEqual({ path: join(dir, "a.tar"), tag: "v1" });
      expect(splitImageRef(join(dir, "a.tar:localhost/app:v1"))).toEqual({ path: join(dir, "a.tar"), tag: "localhost/app:v1" });
      expect(splitImageRef(join(dir, "odd:name.tar"))).toEqual({ path: join(dir, "odd:name.tar") });
      expect(splitImageRef(join(dir, "missing:v1"))).toEqual({ path: join(dir, "missing:v1") });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Entrypoint + Cmd, a command replacing Cmd; Env with a default PATH; WorkingDir; User", () => {
    const c = config({ Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo hi"], Env: ["A=1"], WorkingDir: "/w", User: "app" });
    expect(imageProcess(c, [], "img")).toEqual({ args: ["/bin/sh", "-c", "echo hi"], env: [expect.stringMatching(/^PATH=/), "A=1"], cwd: "/w", user: "app" });
    expect(imageProcess(c, ["id"], "img").args).toEqual(["/bin/sh", "-c", "id"]);
    expect(imageProcess(config({ Cmd: ["sh"], Env: ["PATH=/x"] }), [], "img")).toEqual({ args: ["sh"], env: ["PATH=/x"], cwd: "/", user: undefined });
    expect(() => imageProcess(config({}), [], "img")).toThrow("img: the image has no Entrypoint or Cmd: give the command after --");
  });

  test("this machine's architecture in OCI's names", () => {
    expect(ociArch("x64")).toBe("amd64");
    expect(ociArch("arm64")).toBe("arm64");
  });

  test("the tar index reads ustar, PAX and GNU long names and links", async () => {
    const long = `dir/${"x".repeat(150)}`;
    const tar = await pack([
      [{ name: "a", mode: 0o644 }, "hello"],
      [{ name: long, mode: 0o644 }, "long"],
      [{ name: "l", type: "symlink", linkname: "a" }],
    ]);
    const m = indexTarBytes(tar, "t");
    expect(m.map((e) => [e.name, e.type, e.linkname, e.size])).toEqual([["a", "0", "", 5], [long, "0", "", 4], ["l", "2", "a", 0]]);
    expect(new TextDecoder().decode(tar.subarray(m[1]!.offset, m[1]!.offset + m[1]!.size))).toBe("long");
    const bad = new Uint8Array(tar);
    bad[0] ^= 1;
    expect(() => indexTarBytes(bad, "t")).toThrow("t: not a tar archive (bad header checksum at byte 0)");
  });

  test("schema errors name the file and the field", () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: "md5:1", size: 1 }] }));
    expect(() => parseJson(IndexSchema, bytes, "img: index.json")).toThrow(/^img: index\.json: manifests\[0\]\.digest: expected sha256:<64 hex digits>/);
  });

  test("the cache lists images by last use: a record touched by a later run counts from its mtime", () => {
    const cache = mkdtempSync(join(tmpdir(), "bunc-cache-"));
    try {
      mkdirSync(join(cache, "images"));
      const rec = (c: string) => ({ id: `sha256:${c.repeat(64)}`, source: `/img-${c}.tar`, tags: [], layers: ["sha256:l"], lastUsed: "2026-01-01T00:00:00.000Z" });
      for (const c of ["a", "b"]) writeFileSync(join(cache, "images", `${c.repeat(64)}.json`), JSON.stringify(rec(c)));
      const later = new Date("2026-06-01T00:00:00.000Z");
      utimesSync(join(cache, "images", `${"b".repeat(64)}.json`), later, later);
      utimesSync(join(cache, "images", `${"a".repeat(64)}.json`), new Date("2025-01-01T00:00:00.000Z"), new Date("2025-01-01T00:00:00.000Z"));
      const listed = listImages(cache, () => 1);
      expect(listed.map((r) => r.source)).toEqual(["/img-b.tar", "/img-a.tar"]);
      expect(listed[0]!.lastUsed).toBe(later.toISOString());
      expect(listed[1]!.lastUsed).toBe("2026-01-01T00:00:00.000Z");
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  test("a whiteout naming no file is refused", () => {
    expect(whiteoutTarget(["etc", ".wh.motd"])).toEqual({ dir: ["etc"], name: "motd" });
    expect(whiteoutTarget(["etc", ".wh..wh..opq"])).toEqual({ dir: ["etc"] });
    expect(() => whiteoutTarget(["etc", ".wh.."])).toThrow("names no file");
  });
});

describe("what is not an image, said as such", () => {
  test("a directory that is no image, rootfs or bundle: empty, a layout without index.json, an unpacked docker archive", () => {
    const { notARootfs } = require("../../src/image/files") as typeof import("../../src/image/files");
    const d = mkdtempSync(join(tmpdir(), "bunc-notroot-"));
    try {
      expect(notARootfs(d, "x")).toBe("x: an empty directory, not an image, rootfs or bundle");
      for (const m of ["dev", "proc", "sys"]) require("node:fs").mkdirSync(join(d, m)); // what a run made in it
      expect(notARootfs(d, "x")).toBe("x: an empty directory, not an image, rootfs or bundle");
      writeFileSync(join(d, "oci-layout"), "{}");
      expect(notARootfs(d, "x")).toBe("x: an OCI layout without index.json");
      rmSync(join(d, "oci-layout"));
      writeFileSync(join(d, "manifest.json"), "[]");
      expect(notARootfs(d, "x")).toBe("x: an unpacked docker archive; give the archive (the .tar docker save wrote)");
      require("node:fs").mkdirSync(join(d, "bin"));
      expect(notARootfs(d, "x")).toBeUndefined(); // a rootfs that happens to hold manifest.json
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  test("a zstd, xz or bzip2 file is named by its compression, with what to do", async () => {
    const { unpackRootfs } = await import("../../src/bundle/unpack");
    const d = mkdtempSync(join(tmpdir(), "bunc-zst-"));
    try {
      const cases: [string, number[], RegExp][] = [
        ["a.tar.zst", [0x28, 0xb5, 0x2f, 0xfd], /a\.tar\.zst: zstd-compressed: bunc reads tar and gzip; decompress it first \(zstd -d\)$/],
        ["a.tar.xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], /a\.tar\.xz: xz-compressed: bunc reads tar and gzip; decompress it first \(xz -d\)$/],
        ["a.tar.bz2", [0x42, 0x5a, 0x68, 0x39], /a\.tar\.bz2: bzip2-compressed: bunc reads tar and gzip; decompress it first \(bzip2 -d\)$/],
      ];
      for (const [name, magic, message] of cases) {
        const f = join(d, name);
        writeFileSync(f, new Uint8Array([...magic, ...new Array(600).fill(0)]));
        expect(await unpackRootfs(f, join(d, "out")).catch((e) => e.message)).toMatch(message);
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
