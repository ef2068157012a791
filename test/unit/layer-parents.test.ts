// An image layer that writes into a directory without an entry of its own (tmp/x with no tmp/):
// in overlay mode that directory is made in the layer's own tree, and being the upper one it
// decides the merged directory's owner, mode and times. It takes them from the layers below, as
// containerd's applier does, so a layer adding /tmp/x does not turn /tmp from 1777 into 0755.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar-stream";
import { unpackLayer } from "../../src/bundle/unpack";

const dir = mkdtempSync(join(tmpdir(), "bunc-layer-parents-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Entry = { name: string; type?: "directory" | "file"; mode: number; body?: string; mtime?: Date };
async function layer(entries: Entry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on("data", (c: Uint8Array) => chunks.push(c));
    pack.on("end", () => resolve());
    pack.on("error", reject);
  });
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? "file", mode: e.mode, mtime: e.mtime ?? new Date(0), uid: 0, gid: 0 }, e.body ?? "");
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

test("an implicit parent takes the attributes of the directory below; a new one is 0755; explicit entries win", async () => {
  const lower = join(dir, "l1"), upper = join(dir, "l2");
  const when = new Date("2020-01-02T03:04:05Z");
  await unpackLayer(await layer([
    { name: "tmp/", type: "directory", mode: 0o1777, mtime: when },
    { name: "srv/", type: "directory", mode: 0o700, mtime: when },
    { name: "srv/a/", type: "directory", mode: 0o750, mtime: when },
  ]), lower, { whiteouts: "overlay" });
  const r = await unpackLayer(await layer([
    { name: "tmp/x", mode: 0o644, body: "x" },      // tmp/ itself is not in this layer
    { name: "srv/a/b/c", mode: 0o644, body: "c" },  // nor srv/, srv/a/; srv/a/b/ is new
    { name: "srv/", type: "directory", mode: 0o711, mtime: when }, // an entry of its own, after its children
  ]), upper, { whiteouts: "overlay", below: [lower] });
  const mode = (p: string) => statSync(join(upper, p)).mode & 0o7777;
  expect(mode("tmp")).toBe(0o1777);
  expect(statSync(join(upper, "tmp")).mtime.getTime()).toBe(when.getTime());
  expect(mode("srv/a")).toBe(0o750);
  expect(mode("srv/a/b")).toBe(0o755);
  expect(mode("srv")).toBe(0o711);
  expect(r.usedBelow).toBe(true); // the tree depends on the layers below: cached by chain ID
});

test("a layer whose directories all have entries does not depend on the layers below", async () => {
  const lower = join(dir, "m1"), upper = join(dir, "m2");
  await unpackLayer(await layer([{ name: "tmp/", type: "directory", mode: 0o1777 }]), lower, { whiteouts: "overlay" });
  const r = await unpackLayer(await layer([
    { name: "tmp/", type: "directory", mode: 0o1777 },
    { name: "tmp/x", mode: 0o644, body: "x" },
  ]), upper, { whiteouts: "overlay", below: [lower] });
  expect(r.usedBelow).toBe(false);
});
