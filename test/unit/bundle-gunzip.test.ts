// Streaming gunzip: every backend inflates in place into one reused buffer (nothing queued),
// reads multi-member gzip, ignores zero padding, and says truncated or corrupt data as such.
import { describe, expect, test } from "bun:test";
import { Gunzip, GunzipError, GUNZIP_CHUNK, type GunzipBackend } from "../../src/bundle/gunzip";

const data = new TextEncoder().encode(Array.from({ length: 40_000 }, (_, i) => `line ${i} ${(i * 7919) % 1000}\n`).join(""));

function inflate(gz: Uint8Array, backend: GunzipBackend, inChunk = 10_000) {
  const out: Uint8Array[] = [], buffers = new Set<ArrayBufferLike>();
  const g = new Gunzip((c) => (buffers.add(c.buffer), out.push(c.slice())), Infinity, backend);
  try {
    for (let i = 0; i < gz.length; i += inChunk) g.push(gz.subarray(i, i + inChunk));
    g.finish();
  } finally {
    g.close();
  }
  return { bytes: Buffer.concat(out), chunks: out, buffers, kind: g.kind };
}

describe.each(["libz", "node-handle", "node-sync"] as const)("Gunzip (%s)", (backend) => {
  test("inflates in chunks of at most GUNZIP_CHUNK", () => {
    const r = inflate(Bun.gzipSync(data), backend);
    expect(r.kind).toBe(backend);
    expect(r.bytes.equals(Buffer.from(data))).toBe(true);
    expect(Math.max(...r.chunks.map((c) => c.length))).toBeLessThanOrEqual(GUNZIP_CHUNK);
    if (backend !== "node-sync") expect(r.buffers.size).toBe(1); // one output buffer, reused
  });

  test("several members, then zero padding", () => {
    const gz = new Uint8Array([...Bun.gzipSync(data.subarray(0, 1000)), ...Bun.gzipSync(data.subarray(1000, 3000)), ...new Uint8Array(700)]);
    expect(inflate(gz, backend, 333).bytes.equals(Buffer.from(data.subarray(0, 3000)))).toBe(true);
  });

  test("truncated or corrupt data is a GunzipError; the consumer's errors pass through", () => {
    const gz = Bun.gzipSync(data);
    expect(() => inflate(gz.subarray(0, gz.length / 2), backend)).toThrow(GunzipError);
    const bad = new Uint8Array(gz);
    bad[bad.length - 6] ^= 0xff; // the CRC
    expect(() => inflate(bad, backend)).toThrow(GunzipError);
    const mine = new Error("disk full");
    const g = new Gunzip(() => { throw mine; }, Infinity, backend);
    expect(() => (g.push(gz), g.finish())).toThrow(mine);
    g.close();
  });
});
