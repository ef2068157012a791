// A layer's bytes as the uncompressed tar to unpack: the blob checked against its digest,
// gzip or zstd found by their magic bytes (media types are not always right: docker archives
// have none), the output bounded, and the tar checked against the config's diff_id.
import { gunzipSync, zstdDecompressSync } from "node:zlib";
import { BuncError } from "../sys/errors";
import type { ImageFiles } from "./files";
import { readBlob, type LayerRef } from "./manifest";

const short = (digest: string) => `${digest.slice(0, 19)}…`;

function decompress(blob: Uint8Array, maxBytes: number, where: string): Uint8Array {
  const gzip = blob[0] === 0x1f && blob[1] === 0x8b;
  const zstd = blob[0] === 0x28 && blob[1] === 0xb5 && blob[2] === 0x2f && blob[3] === 0xfd;
  if (!gzip && !zstd) return blob;
  try {
    return zstd ? zstdDecompressSync(blob, { maxOutputLength: maxBytes + 1 }) : gunzipSync(blob, { maxOutputLength: maxBytes + 1 });
  } catch (e: any) {
    if (e?.code === "ERR_BUFFER_TOO_LARGE") throw new BuncError(`${where}: larger than the limit of ${maxBytes} bytes uncompressed`);
    throw new BuncError(`${where}: truncated or corrupt ${zstd ? "zstd" : "gzip"} data`);
  }
}

/** The uncompressed tar of layer `index` (0-based) of `files`, checked on the way. */
export function layerTar(files: ImageFiles, layer: LayerRef, index: number, maxBytes: number): Uint8Array {
  const where = `${files.label}: layer ${index + 1}`;
  let blob: Uint8Array | undefined;
  if (layer.digest) blob = readBlob(files, layer.digest, `layer ${index + 1}`, layer.size);
  else blob = files.read(layer.file);
  if (!blob) throw new BuncError(`${where} (${layer.file}) is missing`);
  const tar = decompress(blob, maxBytes, where);
  if (tar.length > maxBytes) throw new BuncError(`${where}: larger than the limit of ${maxBytes} bytes`);
  const got = `sha256:${new Bun.CryptoHasher("sha256").update(tar).digest("hex")}`;
  if (got !== layer.diffId) throw new BuncError(`${where}: its content hashes to ${short(got)}, the config's diff_id is ${short(layer.diffId)}`);
  return tar;
}
