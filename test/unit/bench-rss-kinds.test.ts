// scripts/bench/rss-maps.ts splits a command's RSS by the kind of mapping it lies in: the
// executable's code, its read-only data, its data (where Bun keeps bunc's compiled modules),
// anonymous memory and shared libraries. The split is read from smaps text as the kernel writes it.
import { expect, test } from "bun:test";
import { rssByKind } from "../../scripts/bench/proc";

const BIN = "/tmp/bunc-rss-maps-x/bunc";
const mapping = (range: string, perms: string, name: string, rssKiB: number) =>
  [`${range} ${perms} 00000000 fe:00 123${name ? `                    ${name}` : ""}`, "Size:               1024 kB", `Rss:                ${rssKiB} kB`, "Pss:                  10 kB"].join("\n");

test("each mapping's Rss is counted under its kind; the executable is told apart by its path and permissions", () => {
  const smaps = [
    mapping("00200000-01a39000", "r--p", BIN, 6000),
    mapping("01a40000-0684a000", "r-xp", BIN, 20000),
    mapping("0684a000-06d34000", "rw-p", BIN, 1500),
    mapping("06d34000-06d40000", "rw-p", "", 300),
    mapping("508bb200000-508fb200000", "rw-p", "", 2600),
    mapping("7f0000000000-7f0000100000", "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6", 1400),
    mapping("7f0000200000-7f0000210000", "r--p", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 200),
    mapping("7ffc00000000-7ffc00021000", "rw-p", "[stack]", 100),
    mapping("7ffc00100000-7ffc00102000", "r-xp", "[vdso]", 8),
    mapping("7ff000000000-7ff000100000", "r-xp", "/tmp/bunc-rss-maps-x/bunc-other", 50),
  ].join("\n");
  expect(rssByKind(smaps, BIN)).toEqual({
    "binary code (r-xp)": 20000,
    "binary read-only data (r--p)": 6000,
    "binary data, bunc's modules (rw-p)": 1500,
    "anonymous (heaps, stacks)": 3000,
    "shared libraries": 1600,
    other: 58,
  });
});
