// An upstream source archive from Debian's archive for the outside test suites
// (runc-bats.ts, crun-tests.ts): downloaded once into fixtures/cache/, checked by SHA-256,
// and unpacked into a directory of the cache (through a temporary one, so that a failed
// unpack is not taken for a done one).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const CACHE = resolve(import.meta.dir, "../fixtures/cache");

/**
 * `tree` under the cache, unpacked from the archive at `url` by `tar` with `tarArgs` (after
 * -C <dir>) unless `done` is already there.
 */
export async function unpackedSource(o: { url: string; sha256: string; tree: string; done: string; tarArgs: string[]; log: (s: string) => void }): Promise<string> {
  const tree = join(CACHE, o.tree);
  if (existsSync(join(tree, o.done))) return tree;
  mkdirSync(CACHE, { recursive: true });
  const archive = join(CACHE, o.url.slice(o.url.lastIndexOf("/") + 1));
  if (!existsSync(archive)) {
    o.log(`fetching ${o.url}`);
    const r = await fetch(o.url);
    if (!r.ok) throw new Error(`${o.url}: HTTP ${r.status}`);
    writeFileSync(archive, new Uint8Array(await r.arrayBuffer()));
  }
  const sha = createHash("sha256").update(readFileSync(archive)).digest("hex");
  if (sha !== o.sha256) throw new Error(`${archive}: sha256 ${sha}, expected ${o.sha256}`);
  const tmp = `${tree}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const x = Bun.spawnSync(["tar", "-xf", archive, "-C", tmp, ...o.tarArgs]);
  if (x.exitCode !== 0) throw new Error(`tar: ${x.stderr}`);
  Bun.spawnSync(["mv", tmp, tree]);
  return tree;
}
