// valibot schemas of what an image on disk holds: the OCI image layout's index.json, image
// manifests and indexes (manifest lists), the image config, and a docker archive's
// manifest.json. They are the only source of these types; unknown fields are ignored.
import * as v from "valibot";
import { formatIssue } from "../spec/parse";
import { BuncError } from "../sys/errors";

const Digest = v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 hex digits> (the only digest bunc checks)"));

export const PlatformSchema = v.object({
  architecture: v.string(),
  os: v.string(),
  variant: v.optional(v.string()),
});

export const DescriptorSchema = v.object({
  mediaType: v.optional(v.string()),
  digest: Digest,
  size: v.pipe(v.number(), v.integer(), v.minValue(0)),
  platform: v.optional(PlatformSchema),
  annotations: v.optional(v.record(v.string(), v.string())),
});
export type Descriptor = v.InferOutput<typeof DescriptorSchema>;

/** index.json of a layout, or a manifest list / OCI index blob. */
export const IndexSchema = v.object({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  manifests: v.array(DescriptorSchema),
});
export type ImageIndex = v.InferOutput<typeof IndexSchema>;

export const ManifestSchema = v.object({
  schemaVersion: v.literal(2),
  mediaType: v.optional(v.string()),
  config: DescriptorSchema,
  layers: v.array(DescriptorSchema),
});
export type ImageManifest = v.InferOutput<typeof ManifestSchema>;

const Strings = v.nullish(v.array(v.string()));

/** The image config (OCI image-spec config.md, which docker's is a superset of). */
export const ImageConfigSchema = v.object({
  architecture: v.optional(v.string()),
  os: v.optional(v.string()),
  variant: v.optional(v.string()),
  config: v.nullish(v.object({
    User: v.nullish(v.string()),
    Env: Strings,
    Entrypoint: Strings,
    Cmd: Strings,
    WorkingDir: v.nullish(v.string()),
  })),
  rootfs: v.object({
    type: v.literal("layers"),
    diff_ids: v.array(Digest),
  }),
});
export type ImageConfig = v.InferOutput<typeof ImageConfigSchema>;

/** manifest.json of `docker save` / `podman save --format docker-archive`. */
export const DockerManifestSchema = v.array(v.object({
  Config: v.string(),
  RepoTags: Strings,
  Layers: v.array(v.string()),
}));
export type DockerManifest = v.InferOutput<typeof DockerManifestSchema>;

/** Parses `bytes` as JSON of `schema`; the error names the image and the file. */
export function parseJson<S extends v.GenericSchema>(schema: S, bytes: Uint8Array, where: string): v.InferOutput<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new BuncError(`${where}: not JSON`);
  }
  const r = v.safeParse(schema, json);
  if (!r.success) throw new BuncError(`${where}: ${formatIssue(r.issues[0]!).replace(/^config: /, "")}`);
  return r.output;
}
