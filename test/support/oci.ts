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
