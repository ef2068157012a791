// Images as one-shot sources: an OCI layout directory, an OCI archive or a docker archive,
// optionally `PATH:TAG`. prepareImage() gives the run its root (cached layers under a private
// overlay as root; a private flattened copy otherwise) and what the image's config decides.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { openImage, type ImageFiles } from "./files";
import { resolveImage, type ResolvedImage } from "./manifest";
import { cachedLayers } from "./cache";
import { overlayView } from "./view";
import type { Attrs } from "../sys/rootdir";
import { BuncError } from "../sys/errors";

export { splitImageRef } from "./ref";
export { imageProcess, type ImageProcess } from "./config";
export { openImage, type ImageFiles } from "./files";
export { resolveImage, ociArch, type ResolvedImage } from "./manifest";
export { listImages, layersDir, type ImageRecord } from "./cache";

export interface PreparedImage {
  rootfs: string;
  image: ResolvedImage;
  /** Unmounts the view and releases the layers (the scratch directory is the caller's). */
  undo: () => void;
  /** Layers added to the cache (the caller enforces its size limit). */
  added: number;
}

/** Every layer applied in order onto `target` (whiteouts deleting), for runs without the cache. */
export async function flattenImage(files: ImageFiles, image: ResolvedImage, target: string, warn?: (m: string) => void): Promise<void> {
  const { layerTar } = require("./layers") as typeof import("./layers");
  const { unpackLayer, applyDirAttrs, DEFAULT_MAX_BYTES } = require("../bundle/unpack") as typeof import("../bundle/unpack");
  mkdirSync(target, { recursive: true, mode: 0o755 });
  // A user cannot write into a read-only directory of a lower layer: modes are set at the end.
  const deferDirs = process.geteuid?.() === 0 ? undefined : new Map<string, Attrs>();
  for (const [i, l] of image.layers.entries()) {
    const tar = layerTar(files, l, i, DEFAULT_MAX_BYTES);
    try {
      await unpackLayer(tar, target, { whiteouts: "apply", onWarning: warn, deferDirs });
    } catch (e: any) {
      throw new BuncError(`${files.label}: layer ${i + 1}: ${e.message}`, { cause: e });
    }
  }
  if (deferDirs) applyDirAttrs(target, deferDirs);
}

/**
 * The root of a run of image `files` (closed here) in `scratch`: with `cache` (a cache
 * directory; root only), the cached layers under an overlay; without, a flattened copy.
 */
export async function prepareImage(files: ImageFiles, o: { tag?: string; scratch: string; cache?: string; source: string; warn?: (m: string) => void }): Promise<PreparedImage> {
  try {
    const image = resolveImage(files, o.tag);
    if (!o.cache) {
      const rootfs = join(o.scratch, "rootfs");
      await flattenImage(files, image, rootfs, o.warn);
      return { rootfs, image, undo: () => {}, added: 0 };
    }
    const layers = await cachedLayers(o.cache, files, image, { source: o.source, warn: o.warn });
    try {
      const view = overlayView(layers.trees, o.scratch);
      return { rootfs: view.rootfs, image, undo: () => { view.undo(); layers.release(); }, added: layers.added };
    } catch (e) {
      layers.release();
      throw e;
    }
  } finally {
    files.close();
  }
}
