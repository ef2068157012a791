// What a test depends on that differs from host to host (kernel config, boot options, the
// disks' I/O scheduler, the capabilities of the test run): each is decided by looking at
// this host, and what a test then leaves out it says on stderr, never passing in silence.
import { existsSync, readdirSync, readFileSync } from "node:fs";

export const CAP_SYS_RESOURCE = 24;

/** `missing`, after printing what is skipped on this host and why. For test.skipIf(...) and branches. */
export function skipping(missing: boolean, what: string, why: string): boolean {
  if (missing) console.warn(`skipped on this host: ${what} (${why})`);
  return missing;
}

/** Whether capability `n` is in this process's bounding set. */
export function hasCapability(n: number): boolean {
  const bnd = readFileSync("/proc/self/status", "utf8").match(/^CapBnd:\s+(\w+)/m)![1]!;
  return ((BigInt("0x" + bnd) >> BigInt(n)) & 1n) === 1n;
}

/**
 * The v1 blkio weight file in `dir`: blkio.weight (CFQ) or blkio.bfq.weight (BFQ); none
 * when the disks use none, mq-deadline or kyber, which have no weights.
 */
export function blkioWeightFile(dir: string): string | undefined {
  return ["blkio.weight", "blkio.bfq.weight"].find((f) => existsSync(`${dir}/${f}`));
}

/** major:minor of a whole disk for throttle rules: a real one if there is one, else a loop/zram/ram one. */
export function blockDevice(): [number, number] | undefined {
  const disks = readdirSync("/sys/block").filter((d) => existsSync(`/sys/block/${d}/dev`));
  const name = disks.find((d) => !/^(loop|ram|zram|nbd)/.test(d)) ?? disks[0];
  return name ? readFileSync(`/sys/block/${name}/dev`, "utf8").trim().split(":").map(Number) as [number, number] : undefined;
}

/** Whether swap is active: without swap accounting a memory limit alone may then swap instead of OOM-kill. */
export function swapActive(): boolean {
  return readFileSync("/proc/swaps", "utf8").trim().split("\n").length > 1;
}
