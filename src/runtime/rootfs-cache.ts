// Unpacked rootfs trees of one-shot runs, kept by the tarball's SHA-256 so that a repeated
// `run --rootfs T` costs a container start, not an unpack. Every run gets its own writable
// view: an overlay over the cached tree (a copy where overlay cannot be mounted), so no run
// changes another's files or the cache's. `bunc cache ls|prune` and a size limit keep it small.
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { O } from "../sys/arch";
import { randomHex } from "../sys/random-id";
import { mountScratchOverlay, overlayDirs } from "../image/view";

/** Where the cache lives: $BUNC_CACHE_DIR, /var/cache/bunc for root, else $XDG_CACHE_HOME/bunc or ~/.cache/bunc. */
export function cacheDir(): string {
  if (process.env.BUNC_CACHE_DIR) return process.env.BUNC_CACHE_DIR;
  if (process.geteuid?.() === 0) return "/var/cache/bunc";
  return join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/tmp", ".cache"), "bunc");
}

/** Past this many bytes, the least recently used entries go after each new one. */
export const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;

export interface CacheEntry { digest: string; dir: string; bytes: number; lastUsed: Date; kind: "rootfs" | "layer" }

function digestOf(tarball: string): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(readFileSync(tarball));
  return h.digest("hex");
}

function duSync(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = statSync(p, { throwIfNoEntry: false } as any) as ReturnType<typeof statSync> | undefined;
      if (!st) continue;
      if (e.isDirectory()) walk(p);
      else total += st.blocks * 512;
    }
  };
  try { walk(dir); } catch {}
  return total;
}

/** A shared flock on an entry while a run uses it: prune leaves busy entries alone. */
function lockEntry(dir: string, exclusive: boolean): number | undefined {
  const { flock } = require("../sys/flock") as typeof import("../sys/flock");
  const fd = openSync(dir, O.DIRECTORY | O.CLOEXEC);
  if (!flock(fd, { exclusive, wait: false, path: dir })) {
    closeSync(fd);
    return undefined;
  }
  return fd;
}

/**
 * The cached tree of `tarball` (unpacked now if missing; concurrent first runs each unpack
 * and the first rename wins), locked shared until `release`.
 */
export async function cachedRootfs(tarball: string, warn?: (m: string) => void): Promise<{ rootfs: string; digest: string; release: () => void }> {
  const base = join(cacheDir(), "rootfs");
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const digest = digestOf(tarball);
  const dir = join(base, digest);
  if (!existsSync(join(dir, "rootfs"))) {
    const tmp = join(base, `.tmp-${randomHex(6)}`);
    try {
      const { unpackRootfs } = await import("../bundle");
      await unpackRootfs(tarball, join(tmp, "rootfs"), { onWarning: warn });
      try {
        renameSync(tmp, dir);
      } catch (e: any) {
        if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    pruneCache(DEFAULT_MAX_BYTES, digest);
  }
  const fd = lockEntry(dir, false);
  const now = new Date();
  try { utimesSync(dir, now, now); } catch {}
  return { rootfs: join(dir, "rootfs"), digest, release: () => fd !== undefined && closeSync(fd) };
}

/**
 * A private writable view of `lower` at `merged`: an overlay (upper and work dirs beside
 * it), or a copy when overlay cannot be mounted (e.g. not root). Returns how to undo it.
 */
export function writableView(lower: string, scratch: string): { rootfs: string; undo: () => void } {
  const dirs = overlayDirs(scratch);
  try {
    const { LinuxSyscalls } = require("../sys/syscalls") as typeof import("../sys/syscalls");
    return { rootfs: dirs.merged, undo: mountScratchOverlay(new LinuxSyscalls(), lower, dirs) };
  } catch {
    cpSync(lower, dirs.merged, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true } as any);
    return { rootfs: dirs.merged, undo: () => {} };
  }
}

/** Unpacked tarballs (rootfs/) and image layers (layers/, src/image/cache.ts): one size limit for both. */
export function listCache(): CacheEntry[] {
  return (["rootfs", "layers"] as const).flatMap((sub) => {
    const base = join(cacheDir(), sub);
    let names: string[] = [];
    try { names = readdirSync(base).filter((n) => /^[0-9a-f]{64}$/.test(n)); } catch {}
    return names.map((digest) => {
      const dir = join(base, digest);
      return { digest, dir, bytes: duSync(dir), lastUsed: statSync(dir).mtime, kind: sub === "rootfs" ? "rootfs" as const : "layer" as const };
    });
  }).sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
}

/**
 * Removes entries, least recently used first, until the cache holds at most `maxBytes`
 * (0: everything). Entries in use by a run are kept, as is `keep`. Returns what went.
 */
export function pruneCache(maxBytes: number, keep?: string): CacheEntry[] {
  const entries = listCache();
  let total = entries.reduce((n, e) => n + e.bytes, 0);
  const removed: CacheEntry[] = [];
  for (const e of [...entries].reverse()) {
    if (total <= maxBytes) break;
    if (e.digest === keep) continue;
    const fd = lockEntry(e.dir, true);
    if (fd === undefined) continue; // a run uses it
    try {
      rmSync(e.dir, { recursive: true, force: true });
    } finally {
      closeSync(fd);
    }
    total -= e.bytes;
    removed.push(e);
  }
  return removed;
}
