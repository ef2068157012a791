// `PATH:TAG` names one image of an archive or layout that holds several. A path that exists
// is taken whole (paths may contain ":"); otherwise the longest existing prefix before a ":"
// is the path and the rest the tag, as `skopeo copy oci:DIR:TAG` and docker's `name:tag`.
import { existsSync } from "node:fs";

export function splitImageRef(source: string): { path: string; tag?: string } {
  if (existsSync(source)) return { path: source };
  for (let i = source.lastIndexOf(":"); i > 0; i = source.lastIndexOf(":", i - 1)) {
    if (existsSync(source.slice(0, i))) return { path: source.slice(0, i), tag: source.slice(i + 1) || undefined };
  }
  return { path: source };
}
