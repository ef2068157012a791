// Unpacked layers, kept by their diff_id (the digest of the uncompressed tar) under
// <cache>/layers/<hex>/tree, so that images sharing a base share its trees (a layer hard-linking
// files of the layers below holds copies of them: kept by its chain ID), and a run of an
// image seen before unpacks nothing. A layer is stored as an overlayfs lower directory with
// its whiteouts as overlay markers (whiteouts.ts), and each run stacks the trees, top layer
// first, under its own upper directory: stacking costs one mount whatever the image, where
// a flattened tree per image would copy every shared base again for each image built on it.
// Missing layers of an image are all unpacked into one temporary directory and renamed into
// place only once every one of them has been checked and unpacked: a broken image leaves
// nothing. <cache>/images/<hex>.json records the images seen, for `bunc cache ls`.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flock } from "../sys/flock";
import { O } from "../sys/arch";
import { BuncError } from "../sys/errors";
import type { ImageFiles } from "./files";
import type { ResolvedImage } from "./manifest";

const hex = (digest: string) => digest.slice("sha256:".length);

export const layersDir = (cache: string) => join(cache, "layers");
export const layerTree = (cache: string, diffId: string) => join(layersDir(cache), hex(diffId), "tree");

/** A shared lock on a layer while a run uses it (pruning takes an exclusive one and skips busy entries). */
function lockShared(dir: string): number {
  const fd = openSync(dir, O.DIRECTORY | O.CLOEXEC);
  flock(fd, { exclusive: false, wait: true, path: dir });
  return fd;
}

export interface ImageRecord { id: string; source: string; tags: string[]; layers: string[]; lastUsed: string }

/**
 * The layer trees of `image` (bottom first), unpacking the missing ones, each locked shared
 * until `release`. Throws one line naming the image and the layer on any problem, with
 * nothing added to the cache.
 */
/**
 * The cache keys of `image`'s layers (bottom first): a layer's diff_id, or its chain ID (the
 * OCI ChainID: the digest of the layers up to it) when its tree holds files copied up from
 * the layers below (copy-up.ts): such a tree is only right on top of those layers.
 */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length ? `sha256:${new Bun.CryptoHasher("sha256").update(`${out.at(-1)} ${d}`).digest("hex")}` : d);
  return out;
}

/**
 * The layer trees of `image` (bottom first), unpacking the missing ones, each locked shared
 * until `release`. Throws one line naming the image and the layer on any problem, with
 * nothing added to the cache.
 */
export async function cachedLayers(cache: string, files: ImageFiles, image: ResolvedImage, opts: { source: string; warn?: (m: string) => void; maxBytes?: number }): Promise<{ trees: string[]; release: () => void; added: number }> {
  const base = layersDir(cache);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const chains = chainIds(image.layers.map((l) => l.diffId));
  const keys: (string | undefined)[] = image.layers.map((l, i) => [l.diffId, chains[i]!].find((k) => existsSync(layerTree(cache, k))));
  let added = 0;
  if (keys.includes(undefined)) {
    const tmp = mkdtempSync(join(base, ".tmp-"));
    try {
      const trees = keys.map((k) => (k ? layerTree(cache, k) : undefined));
      const made = new Map<string, string>(); // key -> its tree in tmp
      for (const [i, l] of image.layers.entries()) {
        if (keys[i]) continue;
        const same = made.get(l.diffId);
        if (same) {
          keys[i] = l.diffId;
          trees[i] = same;
          continue;
        }
        const tree = join(tmp, String(i), "tree");
        // Loaded only for a layer not cached yet: a run of a cached image needs no tar or zlib code.
        const { layerTar } = require("./layers") as typeof import("./layers");
        const { unpackLayer, DEFAULT_MAX_BYTES } = require("../bundle/unpack") as typeof import("../bundle/unpack");
        const tar = layerTar(files, l, i, opts.maxBytes ?? DEFAULT_MAX_BYTES);
        try {
          const r = await unpackLayer(tar, tree, { whiteouts: "overlay", onWarning: opts.warn, below: trees.slice(0, i).reverse() as string[] });
          keys[i] = r.usedBelow ? chains[i]! : l.diffId;
        } catch (e: any) {
          throw new BuncError(`${files.label}: layer ${i + 1} (${l.diffId.slice(0, 19)}…): ${e.message.replace(/^cannot unpack [^:]*: /, "")}`, { cause: e });
        }
        trees[i] = tree;
        made.set(keys[i]!, tree);
      }
      for (const [key, tree] of made) {
        try {
          renameSync(join(tree, ".."), join(base, hex(key)));
          added++;
        } catch (e: any) {
          if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e; // another run unpacked it first
        }
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const fds: number[] = [];
  const release = () => fds.splice(0).forEach((fd) => closeSync(fd));
  try {
    const now = new Date();
    for (const k of keys as string[]) {
      const dir = join(base, hex(k));
      fds.push(lockShared(dir));
      if (!existsSync(join(dir, "tree"))) throw new BuncError(`${files.label}: layer ${k.slice(0, 19)}… was pruned from the cache while starting; run again`);
      try { utimesSync(dir, now, now); } catch {}
    }
    writeRecord(cache, { id: image.id, source: opts.source, tags: image.tags, layers: keys as string[], lastUsed: now.toISOString() }, now);
  } catch (e) {
    release();
    throw e;
  }
  return { trees: (keys as string[]).map((k) => layerTree(cache, k)), release, added };
}

/**
 * The image's record, rewritten only when it changed: a run of an image seen before just
 * touches it (its mtime is when it was last used; listImages reads it).
 */
function writeRecord(cache: string, r: ImageRecord, now: Date): void {
  const dir = join(cache, "images");
  const file = join(dir, `${hex(r.id)}.json`);
  try {
    const old = JSON.parse(readFileSync(file, "utf8")) as ImageRecord;
    if (JSON.stringify({ ...old, lastUsed: "" }) === JSON.stringify({ ...r, lastUsed: "" })) {
      utimesSync(file, now, now);
      return;
    }
  } catch {} // none yet, or unreadable: written below
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(r));
  renameSync(tmp, file);
}

/** The images seen (most recent first) with the bytes of their layers still cached; records whose layers were pruned go. */
export function listImages(cache: string, layerBytes: (diffId: string) => number | undefined): (ImageRecord & { bytes: number })[] {
  const dir = join(cache, "images");
  let names: string[] = [];
  try { names = readdirSync(dir).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)); } catch {}
  const out: (ImageRecord & { bytes: number })[] = [];
  for (const n of names) {
    let r: ImageRecord;
    let used: string;
    try {
      r = JSON.parse(readFileSync(join(dir, n), "utf8"));
      used = statSync(join(dir, n)).mtime.toISOString();
    } catch { continue; }
    // a run of an image seen before touches its record instead of rewriting it (writeRecord)
    if (!r.lastUsed || used > r.lastUsed) r.lastUsed = used;
    const sizes = (r.layers ?? []).map(layerBytes);
    if (sizes.some((s) => s === undefined)) {
      rmSync(join(dir, n), { force: true });
      continue;
    }
    out.push({ ...r, bytes: sizes.reduce((a: number, b) => a + b!, 0) });
  }
  return out.sort((a, b) => b.lastUsed.localeCompare(a.lastUsed));
}

/** Whether `dir` holds a finished layer (for listings). */
export const isLayerEntry = (dir: string) => existsSync(join(dir, "tree")) && statSync(dir).isDirectory();
