// A rootfs tarball streams through unpacking: read a chunk at a time and handed on inflated
// before the next is read, never whole (the Alpine minirootfs peaked at ~70 MiB read whole).
import { afterEach, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "../support/tar";
import { READ_CHUNK, streamArchive } from "../../src/bundle/archive-stream";
import { GUNZIP_CHUNK } from "../../src/bundle/gunzip";

let tmp: string;
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

test("a gzip tarball is read and inflated a chunk at a time", async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-stream-"));
  const noise = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 2654435761) >>> 24)); // barely compressible
  const tar = await pack([[{ name: "big", mode: 0o644 }, noise.toString("latin1")]]);
  writeFileSync(join(tmp, "a.tar.gz"), Bun.gzipSync(tar));
  const fd = openSync(join(tmp, "a.tar.gz"), "r");
  let read = 0, total = 0, steps = 0, tarBytes = 0, largest = 0, firstTarAt = -1;
  try {
    streamArchive(fd, Infinity, (chunk) => {
      if (firstTarAt < 0) firstTarAt = read;
      tarBytes += chunk.length;
      largest = Math.max(largest, chunk.length);
    }, (r, t) => {
      expect(r - read).toBeLessThanOrEqual(READ_CHUNK);
      [read, total] = [r, t];
      steps++;
    });
  } finally {
    closeSync(fd);
  }
  expect(tarBytes).toBe(tar.length);
  expect(read).toBe(total);
  expect(steps).toBeGreaterThan(total / READ_CHUNK - 1);
  expect(firstTarAt).toBe(0); // tar came out before the second read
  expect(largest).toBeLessThanOrEqual(Math.max(GUNZIP_CHUNK, READ_CHUNK));
});
