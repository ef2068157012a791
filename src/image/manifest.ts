// Which image of a layout or archive runs: the tag asked for (or the only image there), the
// manifest for this machine's platform (following an index / manifest list), its config and
// its layers in order. Every JSON blob read on the way is checked against its digest.
import { BuncError } from "../sys/errors";
import type { ImageFiles } from "./files";
import { DockerManifestSchema, ImageConfigSchema, IndexSchema, ManifestSchema, parseJson, type Descriptor, type ImageConfig } from "./schema";

/** One layer to stack: where its bytes are, and what they must hash to. */
export interface LayerRef {
  /** Path of the blob in the image files. */
  file: string;
  /** The digest of the blob as stored (checked when read); undefined in a docker archive, which has none. */
  digest?: string;
  size?: number;
  mediaType?: string;
  /** The digest of the uncompressed tar (config rootfs.diff_ids): the layer's cache key. */
  diffId: string;
}

export interface ResolvedImage {
  /** The manifest's digest (docker archive: the config's), naming the image in the cache. */
  id: string;
  config: ImageConfig;
  layers: LayerRef[];
  /** The tags it is known by in the source. */
  tags: string[];
}

/** This machine's architecture as OCI names it. */
export function ociArch(arch: string = process.arch): string {
  return ({ x64: "amd64", ia32: "386", ppc64: "ppc64le" } as Record<string, string>)[arch] ?? arch;
}

const hex = (digest: string) => digest.slice("sha256:".length);
const blobPath = (digest: string) => `blobs/sha256/${hex(digest)}`;
const short = (digest: string) => `${digest.slice(0, 19)}…`;

function sha256(b: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;
}

/** A blob, checked against `digest` (and `size` when known). */
export function readBlob(files: ImageFiles, digest: string, what: string, size?: number): Uint8Array {
  const b = files.read(blobPath(digest));
  if (!b) throw new BuncError(`${files.label}: ${what} ${digest} is missing (no ${blobPath(digest)})`);
  if (size !== undefined && b.length !== size) throw new BuncError(`${files.label}: ${what} ${short(digest)} is ${b.length} bytes, its descriptor says ${size}`);
  const got = sha256(b);
  if (got !== digest) throw new BuncError(`${files.label}: ${what} ${short(digest)} does not match its digest (the blob hashes to ${short(got)})`);
  return b;
}

/**
 * Does reference `ref` (a ref.name annotation, a RepoTag) answer to `asked`? As the user would
 * say it: the whole reference, a tag alone ("v1"), a name and tag without the registry
 * ("app:v1"), or a name alone for its "latest".
 */
export function tagMatches(ref: string, asked: string): boolean {
  const forms = [asked, ...(asked.includes(":") ? [] : [`${asked}:latest`])];
  return forms.some((f) => ref === f || ref.endsWith(`/${f}`)) || ref.endsWith(`:${asked}`);
}

const refsOf = (d: Descriptor) => [d.annotations?.["org.opencontainers.image.ref.name"], d.annotations?.["io.containerd.image.name"]].filter((r): r is string => !!r);

const platformOf = (p: { architecture?: string; os?: string; variant?: string }) => `${p.os ?? "?"}/${p.architecture ?? "?"}${p.variant ? `/${p.variant}` : ""}`;

function checkPlatform(files: ImageFiles, config: ImageConfig, where: string) {
  const arch = ociArch();
  if ((config.architecture && config.architecture !== arch) || (config.os && config.os !== "linux")) {
    throw new BuncError(`${files.label}: ${where} is for ${platformOf(config)} only, this machine is linux/${arch}`);
  }
}

function configOf(files: ImageFiles, d: Descriptor): ImageConfig {
  return parseJson(ImageConfigSchema, readBlob(files, d.digest, "config", d.size), `${files.label}: config ${short(d.digest)}`);
}

const isIndex = (d: Descriptor, json: any) => /image\.index|manifest\.list/.test(d.mediaType ?? json.mediaType ?? "") || (Array.isArray(json.manifests) && !json.layers);

/** A manifest or an index, followed down to the one manifest for this platform. */
function manifestFor(files: ImageFiles, d: Descriptor, tags: string[], depth = 0): ResolvedImage {
  const bytes = readBlob(files, d.digest, "manifest", d.size);
  let json: any;
  try { json = JSON.parse(new TextDecoder().decode(bytes)); } catch { throw new BuncError(`${files.label}: manifest ${short(d.digest)}: not JSON`); }
  if (isIndex(d, json)) {
    if (depth > 4) throw new BuncError(`${files.label}: indexes nested too deep at ${short(d.digest)}`);
    const index = parseJson(IndexSchema, bytes, `${files.label}: index ${short(d.digest)}`);
    return manifestFor(files, pickPlatform(files, index.manifests, `index ${short(d.digest)}`), tags, depth + 1);
  }
  const m = parseJson(ManifestSchema, bytes, `${files.label}: manifest ${short(d.digest)}`);
  const config = configOf(files, m.config);
  checkPlatform(files, config, `manifest ${short(d.digest)}`);
  if (config.rootfs.diff_ids.length !== m.layers.length) {
    throw new BuncError(`${files.label}: manifest ${short(d.digest)} has ${m.layers.length} layers, its config's rootfs.diff_ids ${config.rootfs.diff_ids.length}`);
  }
  const layers = m.layers.map((l, i) => {
    if (/encrypted/.test(l.mediaType ?? "")) throw new BuncError(`${files.label}: layer ${i + 1} is ${l.mediaType}: encrypted layers are not supported`);
    return { file: blobPath(l.digest), digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: config.rootfs.diff_ids[i]! };
  });
  return { id: d.digest, config, layers, tags };
}

/** The entry of an index for this platform; entries without a platform are taken as they come. */
function pickPlatform(files: ImageFiles, entries: Descriptor[], where: string): Descriptor {
  const arch = ociArch();
  const fits = entries.filter((e) => !e.platform || (e.platform.architecture === arch && e.platform.os === "linux"));
  // Attestations (docker buildx) are listed as platform unknown/unknown: never an image to run.
  const runnable = fits.filter((e) => e.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest");
  if (!runnable.length) {
    const have = [...new Set(entries.map((e) => (e.platform ? platformOf(e.platform) : "?")))].join(", ");
    throw new BuncError(`${files.label}: ${where} has no manifest for linux/${arch} (it has ${have || "none"})`);
  }
  return runnable.find((e) => e.platform && !e.platform.variant) ?? runnable[0]!;
}

/** The OCI layout's (or archive's) image named `tag`, or its only one. */
function fromIndex(files: ImageFiles, tag: string | undefined): ResolvedImage {
  const index = parseJson(IndexSchema, files.read("index.json")!, `${files.label}: index.json`);
  let entries = index.manifests;
  if (tag !== undefined) {
    entries = entries.filter((e) => refsOf(e).some((r) => tagMatches(r, tag)));
    if (!entries.length) throw new BuncError(`${files.label}: no image tagged ${tag} (tags: ${tagList(index.manifests.flatMap(refsOf))})`);
  }
  if (!entries.length) throw new BuncError(`${files.label}: index.json lists no image`);
  const arch = ociArch();
  // Several entries for several platforms of one image are a choice of platform, not of tag.
  const forUs = entries.filter((e) => !e.platform || (e.platform.architecture === arch && e.platform.os === "linux"));
  const distinct = new Set(forUs.map((e) => e.digest));
  if (distinct.size > 1) throw new BuncError(`${files.label}: holds ${distinct.size} images (tags: ${tagList(forUs.flatMap(refsOf))}); name one as ${files.label}:TAG`);
  const chosen = forUs.length ? forUs[0]! : pickPlatform(files, entries, "index.json");
  return manifestFor(files, chosen, [...new Set(entries.filter((e) => e.digest === chosen.digest).flatMap(refsOf))]);
}

const tagList = (tags: string[]) => (tags.length ? [...new Set(tags)].join(", ") : "none");

/** A docker archive's image from manifest.json (layers named by path; their diff_ids are the check). */
function fromDockerManifest(files: ImageFiles, tag: string | undefined): ResolvedImage {
  const entries = parseJson(DockerManifestSchema, files.read("manifest.json")!, `${files.label}: manifest.json`);
  const all = entries.flatMap((e) => e.RepoTags ?? []);
  const chosen = tag === undefined ? entries : entries.filter((e) => (e.RepoTags ?? []).some((r) => tagMatches(r, tag)));
  if (tag !== undefined && !chosen.length) throw new BuncError(`${files.label}: no image tagged ${tag} (tags: ${tagList(all)})`);
  if (!chosen.length) throw new BuncError(`${files.label}: manifest.json lists no image`);
  if (chosen.length > 1) throw new BuncError(`${files.label}: holds ${chosen.length} images (tags: ${tagList(all)}); name one as ${files.label}:TAG`);
  const e = chosen[0]!;
  const configBytes = files.read(e.Config);
  if (!configBytes) throw new BuncError(`${files.label}: config ${e.Config} is missing`);
  const id = `sha256:${new Bun.CryptoHasher("sha256").update(configBytes).digest("hex")}`;
  // The config's file name is its digest (<hex>.json or blobs/sha256/<hex>): check it when it says so.
  const named = /([0-9a-f]{64})(\.json)?$/.exec(e.Config)?.[1];
  if (named && `sha256:${named}` !== id) throw new BuncError(`${files.label}: config ${e.Config} does not match its digest (it hashes to ${short(id)})`);
  const config = parseJson(ImageConfigSchema, configBytes, `${files.label}: config ${e.Config}`);
  checkPlatform(files, config, "the image");
  if (config.rootfs.diff_ids.length !== e.Layers.length) throw new BuncError(`${files.label}: manifest.json lists ${e.Layers.length} layers, the config's rootfs.diff_ids ${config.rootfs.diff_ids.length}`);
  const layers = e.Layers.map((file, i) => {
    if (!files.has(file)) throw new BuncError(`${files.label}: layer ${i + 1} (${file}) is missing`);
    return { file, diffId: config.rootfs.diff_ids[i]! };
  });
  return { id, config, layers, tags: e.RepoTags ?? [] };
}

/** The image to run from `files` (tag: which one when there are several). */
export function resolveImage(files: ImageFiles, tag?: string): ResolvedImage {
  return files.has("index.json") && (files.kind !== "docker-archive") ? fromIndex(files, tag) : fromDockerManifest(files, tag);
}
