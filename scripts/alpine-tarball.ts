// One resolver for the Alpine minirootfs tarball used by tests and benchmarks:
// $BUNC_ROOTFS_TARBALL, then the download cache in fixtures/cache/, then ../shared/rootfs/.
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const PROJECT = resolve(import.meta.dir, "..");
export const ALPINE_NAME = "alpine-minirootfs-3.20.3-x86_64.tar.gz";

export function alpineTarball(): string {
  const candidates = [
    process.env.BUNC_ROOTFS_TARBALL,
    join(PROJECT, "fixtures/cache", ALPINE_NAME),
    join(PROJECT, "../shared/rootfs", ALPINE_NAME),
  ].filter((p): p is string => !!p);
  for (const c of candidates) if (existsSync(c)) return c;
  const shared = join(PROJECT, "../shared/rootfs");
  const any = existsSync(shared) ? readdirSync(shared).find((f) => f.startsWith("alpine-minirootfs-")) : undefined;
  if (any) return join(shared, any);
  throw new Error(`Alpine minirootfs tarball not found; tried ${candidates.join(", ")} (set BUNC_ROOTFS_TARBALL or run scripts/fetch-alpine.ts)`);
}
