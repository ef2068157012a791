// Input detection, limits, refusal of non-empty targets and removal of partial output.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar-stream";
import { pack, type Entry, type H } from "../support/tar";
import { unpackRootfs, UnpackError } from "../../src/bundle";
import { progressBar } from "../../src/bundle/progress";

let tmp: string;
afterEach(() => rmSync(tmp, { recursive: true, force: true }));
const scratch = () => (tmp = mkdtempSync(join(tmpdir(), "bunc-unpack-")));

const files = (n: number, size = 10) => pack(Array.from({ length: n }, (_, i) => [{ name: `f${i}`, mode: 0o644 }, "x".repeat(size)] as [H, string]));

async function expectFailure(input: Uint8Array | string, message: RegExp, target = join(tmp, "out"), opts = {}) {
  const err = await unpackRootfs(input, target, opts).then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(UnpackError);
  expect(err.message).toMatch(message);
  expect(err.message).not.toContain("\n");
  return err;
}

describe("unpackRootfs", () => {
  test("detects gzip and plain tar by magic bytes, not by name", async () => {
    scratch();
    const plain = await files(2);
    writeFileSync(join(tmp, "plain.tar.gz"), plain); // misleading name
    writeFileSync(join(tmp, "gz.tar"), Bun.gzipSync(plain));
    await unpackRootfs(join(tmp, "plain.tar.gz"), join(tmp, "a"));
    await unpackRootfs(join(tmp, "gz.tar"), join(tmp, "b"));
    expect(readdirSync(join(tmp, "a")).sort()).toEqual(["f0", "f1"]);
    expect(readFileSync(join(tmp, "b/f1"), "utf8")).toBe("x".repeat(10));
  });

  test("garbage, truncated gzip, gzipped garbage and a corrupt header fail with one line and leave nothing", async () => {
    scratch();
    const gz = Bun.gzipSync(await files(50, 1000));
    await expectFailure(new TextEncoder().encode("hello, this is not an archive".repeat(40)), /not a gzip or tar archive/);
    await expectFailure(new Uint8Array(0), /not a gzip or tar archive/);
    await expectFailure(gz.subarray(0, gz.length / 2), /truncated or corrupt gzip/);
    await expectFailure(Bun.gzipSync(new Uint8Array(4096).fill(65)), /not a tar archive/);
    const corrupt = await files(5);
    corrupt.fill(0x41, 1024 + 20, 1024 + 40); // third header's name/mode: checksum no longer matches
    await expectFailure(corrupt, /cannot unpack archive: corrupt archive: Invalid tar header/);
    expect(existsSync(join(tmp, "out"))).toBe(false);
  });

  test("a tar truncated inside a file fails and removes the partial output", async () => {
    scratch();
    const t = await files(20, 2000);
    await expectFailure(t.subarray(0, 10 * 2560 + 1000), /Unexpected end of data/);
    expect(existsSync(join(tmp, "out"))).toBe(false);
  });

  test("tar bombs: entry and size limits", async () => {
    scratch();
    await expectFailure(await files(11), /more than 10 entries/, undefined, { maxEntries: 10 });
    const big = await files(4, 100_000);
    await expectFailure(big, /larger than the limit of 100000 bytes/, undefined, { maxBytes: 100_000 });
    await expectFailure(Bun.gzipSync(big), /larger than the limit of 100000 bytes/, undefined, { maxBytes: 100_000 }); // bounded gunzip
    const zeros = Bun.gzipSync(await pack([[{ name: "z", mode: 0o644 }, "\0".repeat(5_000_000)]]));
    expect(zeros.length * 1032).toBeGreaterThan(1_000_000);
    await expectFailure(zeros, /larger than the limit/, undefined, { maxBytes: 1_000_000 });
    expect(existsSync(join(tmp, "out"))).toBe(false);
  });

  test("refuses a non-empty target without force; force replaces its contents", async () => {
    scratch();
    const out = join(tmp, "out");
    mkdirSync(out);
    writeFileSync(join(out, "old"), "old");
    await expectFailure(await files(1), /is not empty \(use --force/, out);
    expect(readFileSync(join(out, "old"), "utf8")).toBe("old");
    await unpackRootfs(await files(1), out, { force: true });
    expect(readdirSync(out)).toEqual(["f0"]);
  });

  test("an existing empty target is kept but emptied again on failure", async () => {
    scratch();
    const out = join(tmp, "out");
    mkdirSync(out);
    const t = await files(3, 2000);
    await expectFailure(t.subarray(0, 2560 * 2 + 1000), /Unexpected end of data/, out);
    expect(readdirSync(out)).toEqual([]);
  });

  test("skips '..' names and strips leading '/' with warnings, creates implied parents", async () => {
    scratch();
    const warnings: string[] = [];
    const r = await unpackRootfs(await pack([[{ name: "/abs", mode: 0o600 }, "a"], [{ name: "x/../../y", mode: 0o644 }, "y"], [{ name: "p/q/r", mode: 0o640 }, "r"]]), join(tmp, "out"), { onWarning: (w) => warnings.push(w) });
    expect(readdirSync(join(tmp, "out")).sort()).toEqual(["abs", "p"]);
    expect(lstatSync(join(tmp, "out/p/q")).isDirectory()).toBe(true);
    expect(lstatSync(join(tmp, "out/abs")).mode & 0o7777).toBe(0o600);
    expect(r.entries).toBe(3);
    expect(r.warnings).toEqual(warnings);
    expect(warnings).toEqual(["removing leading '/' from member names", "skipped member name containing '..': x/../../y"]);
  });

  test("a progress bar only on the stream the caller gives, when it is a TTY and the archive large", async () => {
    scratch();
    const writes: string[] = [];
    const orig = process.stderr.write;
    process.stderr.write = ((s: string) => (writes.push(String(s)), true)) as any;
    try {
      await unpackRootfs(await files(3), join(tmp, "quiet"));
    } finally {
      process.stderr.write = orig;
    }
    expect(writes).toEqual([]); // a library call never draws on stderr
    const drawn = (isTTY: boolean, total: number) => {
      const out: string[] = [];
      const bar = progressBar(total, { isTTY, write: (t: string) => out.push(t) });
      bar.update(total / 2, 3);
      bar.done();
      return out.join("");
    };
    expect(drawn(true, 64 * 1024 ** 2)).toContain("3 entries");
    expect(drawn(false, 64 * 1024 ** 2)).toBe("");
    expect(drawn(true, 1024)).toBe(""); // small archives unpack too fast for a bar
  });
});
