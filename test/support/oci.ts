// OCI layouts edited by the tests: a copy of a real one with a blob changed, removed or
// added, the manifest/config/index rewritten with digests that match (or on purpose not).
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const sha256 = (b: Uint8Array | string) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

export class Layout {
  constructor(readonly dir: string) {}

  static copy(from: string, to: string): Layout {
    cpSync(from, to, { recursive: true });
    return new Layout(to);
  }

  blobPath = (digest: string) => join(this.dir, "blobs/sha256", digest.slice(7));
  readJson = (digest: string) => JSON.parse(readFileSync(this.blobPath(digest), "utf8"));
  index = () => JSON.parse(readFileSync(join(this.dir, "index.json"), "utf8"));

  putBlob(data: Uint8Array | string): { digest: string; size: number } {
    const digest = sha256(data);
    writeFileSync(this.blobPath(digest), data);
    return { digest, size: typeof data === "string" ? Buffer.byteLength(data) : data.length };
  }

  /** The first manifest of index.json (parsed), and its config. */
  manifest(): { manifest: any; config: any } {
    const manifest = this.readJson(this.index().manifests[0].digest);
    return { manifest, config: this.readJson(manifest.config.digest) };
  }

  /** Writes `config` and `manifest` (its config descriptor updated) and points index.json at it, with `annotations`/`platform` if given. */
  write(manifest: any, config: any, entry: { annotations?: Record<string, string>; platform?: any } = {}): string {
    const c = this.putBlob(JSON.stringify(config));
    manifest = { ...manifest, config: { ...manifest.config, ...c } };
    const m = this.putBlob(JSON.stringify(manifest));
    const index = this.index();
    index.manifests = [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, ...entry }];
    writeFileSync(join(this.dir, "index.json"), JSON.stringify(index));
    return m.digest;
  }

  /** Adds an uncompressed layer on top. */
  addLayer(tar: Uint8Array): void {
    const { manifest, config } = this.manifest();
    const b = this.putBlob(tar);
    manifest.layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...b });
    config.rootfs.diff_ids.push(b.digest);
    this.write(manifest, config, { annotations: this.index().manifests[0].annotations });
  }

  removeBlob = (digest: string) => rmSync(this.blobPath(digest));
}

/**
 * An OCI archive of one image made of the rootfs tarball `tarball` (one gzip layer), tagged
 * `tag`: what `podman save --format oci-archive` gives, without podman.
 */
export function ociArchiveOf(tarball: string, out: string, tag: string): void {
  const { mkdtempSync, mkdirSync } = require("node:fs") as typeof import("node:fs");
  const dir = mkdtempSync(`${out}.layout-`);
  try {
    mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
    const l = new Layout(dir);
    const gz = readFileSync(tarball);
    const layer = l.putBlob(gz);
    const config = l.putBlob(JSON.stringify({
      architecture: ({ x64: "amd64", arm64: "arm64" } as Record<string, string>)[process.arch] ?? process.arch, os: "linux",
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: [sha256(Bun.gunzipSync(gz))] },
    }));
    const manifest = l.putBlob(JSON.stringify({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
    }));
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }] }));
    const p = Bun.spawnSync(["tar", "-C", dir, "-cf", out, "oci-layout", "index.json", "blobs"]);
    if (p.exitCode !== 0) throw new Error(`tar -cf ${out}: ${p.stderr.toString()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An OCI layout at `dir` of the rootfs tarball `tarball` (one gzip layer) with the uncompressed
 * `layers` on it, `config` as the image's config and `tag` as its name; an OCI archive of it
 * when `archive` is given. What podman builds, without podman.
 */
export function layeredImage(dir: string, o: { tarball: string; layers: Uint8Array[]; config: object; tag: string; archive?: string }): Layout {
  const { mkdirSync } = require("node:fs") as typeof import("node:fs");
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  const l = new Layout(dir);
  const gz = readFileSync(o.tarball);
  const blobs = [l.putBlob(gz), ...o.layers.map((t) => l.putBlob(t))];
  const diffIds = [sha256(Bun.gunzipSync(gz)), ...o.layers.map((t) => sha256(t))];
  const arch = ({ x64: "amd64", arm64: "arm64" } as Record<string, string>)[process.arch] ?? process.arch;
  const c = l.putBlob(JSON.stringify({ architecture: arch, os: "linux", config: o.config, rootfs: { type: "layers", diff_ids: diffIds } }));
  const m = l.putBlob(JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...c },
    layers: blobs.map((b, i) => ({ mediaType: `application/vnd.oci.image.layer.v1.tar${i === 0 ? "+gzip" : ""}`, ...b })),
  }));
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": o.tag } }] }));
  if (o.archive) {
    const p = Bun.spawnSync(["tar", "-C", dir, "-cf", o.archive, "oci-layout", "index.json", "blobs"]);
    if (p.exitCode !== 0) throw new Error(`tar -cf ${o.archive}: ${p.stderr.toString()}`);
  }
  return l;
}
