// An image of very many small layers (made here, no podman): its cached layers' paths are too
// long together for overlayfs's mount options (one page), so view.ts names them by
// /proc/self/fd links. The run must see every layer in order: a file each layer adds, one
// file every layer rewrites (the top one wins), files later layers delete (whiteouts) and a
// directory a later layer makes opaque; the overlay tree must equal the flattened one.
import { describe, expect, test } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot, mountsUnder } from "../support/harness";
import { layeredImage } from "../support/oci";
import { pack, type Entry } from "../support/tar";
import { treeDiff, treeLines } from "../support/tree";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { flattenImage, openImage, prepareImage, resolveImage } from "../../src/image";

const sb = fileSandbox();
const LAYERS = 80;

describe.skipIf(!isRoot)(`an image of ${LAYERS + 1} layers`, () => {
  const cache = join(sb.dir, "cache");
  const layout = join(sb.dir, "many");

  test("runs from the cache with every layer in order, and its tree equals the flattened one", async () => {
    const m = new Date("2024-01-02T03:04:05Z");
    const layers: Uint8Array[] = [];
    for (let i = 1; i <= LAYERS; i++) {
      const e: Entry[] = [
        [{ name: "layers", type: "directory", mode: 0o755, mtime: m }],
        [{ name: `layers/${i}`, mode: 0o644, mtime: m }, `${i}\n`],
        [{ name: "top", mode: 0o644, mtime: m }, `layer ${i}\n`],
      ];
      // every tenth layer deletes the file the layer before it added
      if (i % 10 === 0) e.push([{ name: `layers/.wh.${i - 1}`, mode: 0o644, mtime: m }]);
      // an opaque directory half-way: what lower layers put in it is hidden
      if (i <= LAYERS / 2) e.push([{ name: "half", type: "directory", mode: 0o755, mtime: m }], [{ name: `half/${i}`, mode: 0o644, mtime: m }, "x"]);
      if (i === LAYERS / 2 + 1) e.push([{ name: "half", type: "directory", mode: 0o755, mtime: m }], [{ name: "half/.wh..wh..opq", mode: 0o644, mtime: m }], [{ name: "half/after", mode: 0o644, mtime: m }, "y"]);
      layers.push(await pack(e));
    }
    layeredImage(layout, { tarball: alpineTarball(), layers, tag: "many", config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["sh"] } });

    const expectedLayers = Array.from({ length: LAYERS }, (_, k) => k + 1).filter((i) => i % 10 !== 9).map(String).sort();
    const script = "cat /top; ls /layers | sort; ls /half; cat /layers/1 /layers/80";
    const r = sb.run(["run", "--image", layout, "--", "sh", "-c", script], { env: { BUNC_CACHE_DIR: cache } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe([`layer ${LAYERS}`, ...expectedLayers, "after", "1", String(LAYERS), ""].join("\n"));
    expect(r.code).toBe(0);
    // all of them cached: the mount options could not have named them by path
    const cached = readdirSync(join(cache, "layers")).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(cached).toHaveLength(LAYERS + 1);
    expect((join(cache, "layers", cached[0]!, "tree").length + 1) * cached.length).toBeGreaterThan(4096);

    // The overlay a run gets (from the cache, now all there) and the flattened copy: one tree.
    const scratch = join(sb.dir, "view");
    const p = await prepareImage(openImage(layout)!, { scratch, cache, source: layout });
    let ours: string[];
    try {
      ours = treeLines(p.rootfs, { linkCount: false });
    } finally {
      p.undo();
    }
    const flat = join(sb.dir, "flat");
    const files = openImage(layout)!;
    try {
      await flattenImage(files, resolveImage(files), flat);
      const theirs = treeLines(flat, { linkCount: false });
      expect(theirs.length).toBeGreaterThan(400);
      expect(treeDiff(ours, theirs)).toEqual({ onlyA: [], onlyB: [] });
    } finally {
      files.close();
      rmSync(flat, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    }
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 180_000);
});
