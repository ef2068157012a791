// A gzip archive inflated on a thread of its own (src/sys/inflate-thread.c) gives the same tar
// bytes as inflating on the caller's thread, says truncated and corrupt data as such, and
// leaves no fd behind when the reader stops early. The object is built here with the
// system's C compiler as scripts/build.ts builds it (the library from source has none).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streamArchive } from "../../src/bundle/archive-stream";
import { InflateThread, loadInflateThread } from "../../src/sys/inflate-thread";
import { pack } from "../support/tar";
import { alpineTarball } from "../../scripts/alpine-tarball";

const tmp = mkdtempSync(join(tmpdir(), "bunc-inflate-thread-"));
const cc = Bun.which("cc") ?? Bun.which("gcc");
const so = join(tmp, "inflate-thread.so");

beforeAll(() => {
  if (!cc) return;
  const r = Bun.spawnSync([cc, "-O2", "-shared", "-fPIC", "-nostdlib", "-fno-stack-protector", "-Wall", "-Werror", "-o", so, join(import.meta.dir, "../../src/sys/inflate-thread.c")], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`cc: ${r.stderr}`);
  expect(loadInflateThread(so)).toBe(true);
});
afterAll(() => {
  loadInflateThread(null); // the other test files inflate on their own thread, as from source
  rmSync(tmp, { recursive: true, force: true });
});

const noise = Buffer.from(Array.from({ length: 1_500_000 }, (_, i) => (i * 2654435761) >>> 24)); // barely compressible
const text = new TextEncoder().encode(Array.from({ length: 60_000 }, (_, i) => `line ${i} ${(i * 7919) % 1000}\n`).join(""));

/** The tar bytes streamArchive hands on for `gz` (written to a file), and how many reads of the archive it saw. */
function stream(gz: Uint8Array, opts: { maxBytes?: number; onTar?: (chunk: Uint8Array) => void } = {}) {
  const path = join(tmp, `a-${Math.random()}.gz`);
  writeFileSync(path, gz);
  const fd = openSync(path, "r");
  const out: Uint8Array[] = [];
  let lastRead = 0;
  try {
    streamArchive(fd, opts.maxBytes ?? Infinity, (c) => (opts.onTar?.(c), out.push(c.slice())), (r) => (lastRead = r));
  } finally {
    closeSync(fd);
    rmSync(path);
  }
  return { bytes: Buffer.concat(out), lastRead };
}

const fds = () => readdirSync("/proc/self/fd").length;

describe.skipIf(!cc)("inflate on a thread of its own", () => {
  test("it starts where the object is loaded, and is joined", () => {
    const path = join(tmp, "one.gz");
    writeFileSync(path, Bun.gzipSync(text));
    const before = fds();
    const fd = openSync(path, "r");
    try {
      const t = InflateThread.start(fd, new Uint8Array(0));
      expect(t).toBeDefined();
      const got: Uint8Array[] = [];
      for (let c; (c = t!.next()); ) got.push(c.slice());
      expect(Buffer.concat(got).equals(Buffer.from(text))).toBe(true);
      expect(t!.next()).toBeUndefined();
      expect(t!.finish()).toEqual({ ok: true });
      expect(t!.inputRead).toBe(Bun.gzipSync(text).length);
      t!.close();
    } finally {
      closeSync(fd);
    }
    expect(fds()).toBe(before);
  });

  test("the Alpine minirootfs: the same tar bytes as gunzip, all of the archive read", () => {
    const gz = new Uint8Array(require("node:fs").readFileSync(alpineTarball()));
    const r = stream(gz);
    expect(r.bytes.equals(Buffer.from(Bun.gunzipSync(gz)))).toBe(true);
    expect(r.lastRead).toBe(gz.length);
  });

  test("several members, then zero padding; a member smaller than the first read", async () => {
    const tar = await pack([[{ name: "noise", mode: 0o644 }, noise.toString("latin1")], [{ name: "text", mode: 0o644 }, new TextDecoder().decode(text)]]);
    const cut = 300_000;
    const gz = new Uint8Array([...Bun.gzipSync(tar.subarray(0, cut)), ...Bun.gzipSync(tar.subarray(cut)), ...new Uint8Array(700)]);
    expect(stream(gz).bytes.equals(Buffer.from(tar))).toBe(true);
    const small = await pack([[{ name: "a", mode: 0o644 }, "hello"]]);
    expect(stream(Bun.gzipSync(small)).bytes.equals(Buffer.from(small))).toBe(true);
  });

  test("truncated or corrupt gzip data is said as such", async () => {
    const tar = await pack([[{ name: "noise", mode: 0o644 }, noise.toString("latin1")]]);
    const gz = Bun.gzipSync(tar);
    expect(() => stream(gz.subarray(0, Math.floor(gz.length * 0.7)))).toThrow(/truncated or corrupt gzip data/);
    const bad = new Uint8Array(gz);
    bad[bad.length - 6] ^= 0xff; // the CRC
    expect(() => stream(bad)).toThrow(/truncated or corrupt gzip data/);
    const size = new Uint8Array(gz);
    size[size.length - 2] ^= 0x01; // the length (ISIZE)
    expect(() => stream(size)).toThrow(/truncated or corrupt gzip data/);
    // the first of two members: checked where it ends, with the second still to come
    const first = Bun.gzipSync(tar.subarray(0, 400_000));
    first[first.length - 8] ^= 0x01;
    expect(() => stream(new Uint8Array([...first, ...Bun.gzipSync(tar.subarray(400_000))]))).toThrow(/truncated or corrupt gzip data/);
    const garbage = new Uint8Array(gz);
    garbage.fill(0x55, 20_000, 40_000);
    expect(() => stream(garbage)).toThrow(/truncated or corrupt gzip data/);
  });

  test("a pipe is inflated on the reader's own thread (a stalled writer must not hold a thread the reader joins)", async () => {
    const tar = await pack([[{ name: "text", mode: 0o644 }, new TextDecoder().decode(text)]]);
    const fifo = join(tmp, "fifo");
    Bun.spawnSync(["mkfifo", fifo]);
    const writer = Bun.spawn(["sh", "-c", `cat > ${fifo}`], { stdin: Bun.gzipSync(tar) });
    const fd = openSync(fifo, "r");
    const start = InflateThread.start;
    let started = 0;
    InflateThread.start = (...a) => (started++, start(...a));
    const out: Uint8Array[] = [];
    try {
      streamArchive(fd, Infinity, (c) => void out.push(c.slice()));
    } finally {
      InflateThread.start = start;
      closeSync(fd);
      await writer.exited;
    }
    expect(Buffer.concat(out).equals(Buffer.from(tar))).toBe(true);
    expect(started).toBe(0);
  });

  test("a reader that stops early (its error, the size limit) waits for the thread and leaves no fd", async () => {
    const tar = await pack([[{ name: "noise", mode: 0o644 }, noise.toString("latin1")], [{ name: "text", mode: 0o644 }, new TextDecoder().decode(text)]]);
    const gz = Bun.gzipSync(tar);
    const before = fds();
    const mine = new Error("disk full");
    let calls = 0;
    expect(() => stream(gz, { onTar: () => { if (++calls === 2) throw mine; } })).toThrow(mine);
    expect(() => stream(gz, { maxBytes: 100_000 })).toThrow(/larger than the limit of 100000 bytes/);
    expect(fds()).toBe(before);
  });
});
