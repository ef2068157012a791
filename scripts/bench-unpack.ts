// Unpack a rootfs tarball with bunc and with GNU `tar -xzf` into the same filesystem, alternating,
// and print the medians and their ratio.   bun scripts/bench-unpack.ts [--runs N] [--json] [tarball]
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { unpackRootfs } from "../src/bundle";
import { alpineTarball } from "./alpine-tarball";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const runsAt = argv.indexOf("--runs");
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 15;
const tarball = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--runs")[0] ?? alpineTarball();
const base = mkdtempSync(join(process.cwd(), ".bench-unpack-")); // same filesystem as the project

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bunc: number[] = [], gnu: number[] = [];
try {
  await unpackRootfs(tarball, join(base, "warmup")); // JIT and page cache
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await unpackRootfs(tarball, join(base, `bunc-${i}`));
    bunc.push(performance.now() - t);
    const dir = join(base, `gnu-${i}`);
    Bun.spawnSync(["mkdir", dir]);
    t = performance.now();
    const p = Bun.spawnSync(["tar", "-xzf", tarball, "-C", dir]);
    gnu.push(performance.now() - t);
    if (p.exitCode !== 0) throw new Error(`tar failed: ${p.stderr.toString()}`);
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
const result = { tarball, runs, buncMedianMs: +median(bunc).toFixed(1), gnuTarMedianMs: +median(gnu).toFixed(1), ratio: +(median(bunc) / median(gnu)).toFixed(3) };
if (json) console.log(JSON.stringify(result));
else console.log(`bunc ${result.buncMedianMs} ms, GNU tar ${result.gnuTarMedianMs} ms (median of ${runs}); bunc/tar = ${result.ratio}`);
