// sys/paths.ts against node:path, on hand-picked and generated paths.
import { expect, test } from "bun:test";
import * as node from "node:path";
import * as ours from "../../src/sys/paths";

const picked = ["", ".", "..", "/", "//", "///a", "a", "a/", "a//b", "/a/b/", "a/./b", "a/../b", "../a", "../../a/..", "/..", "/../a", "a/b/../../..", "./", ".a", "a.", "/a/b.c", "/a/b.c/", "a/.b", "x/y/..", "/x/y/../", "...", "a/.../b"];
function generated(n: number): string[] {
  const pieces = ["", ".", "..", "a", "b", "c.d", "...", " "];
  let seed = 42;
  const rnd = (k: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % k);
  return Array.from({ length: n }, () => (rnd(2) ? "/" : "") + Array.from({ length: 1 + rnd(5) }, () => pieces[rnd(pieces.length)]).join("/".repeat(1 + rnd(2))) + (rnd(3) ? "" : "/"));
}
const all = [...picked, ...generated(400)];

test("normalize, dirname, basename, isAbsolute", () => {
  for (const p of all) {
    expect({ p, v: ours.normalize(p) }).toEqual({ p, v: node.normalize(p) });
    expect({ p, v: ours.dirname(p) }).toEqual({ p, v: node.dirname(p) });
    expect({ p, v: ours.basename(p) }).toEqual({ p, v: node.basename(p) });
    // basename("//", ext) is "//" in Bun's node:path, "" in Node's (and here).
    if (!/^\/+$/.test(p)) expect({ p, v: ours.basename(p, ".d") }).toEqual({ p, v: node.basename(p, ".d") });
    expect(ours.isAbsolute(p)).toBe(node.isAbsolute(p));
  }
});

test("join, resolve and relative of pairs", () => {
  for (let i = 0; i + 1 < all.length; i++) {
    const [a, b] = [all[i]!, all[i + 1]!];
    expect({ a, b, v: ours.join(a, b) }).toEqual({ a, b, v: node.join(a, b) });
    expect({ a, b, v: ours.join(a, b, a) }).toEqual({ a, b, v: node.join(a, b, a) });
    expect({ a, b, v: ours.resolve(a, b) }).toEqual({ a, b, v: node.resolve(a, b) });
    expect({ a, v: ours.resolve(a) }).toEqual({ a, v: node.resolve(a) });
    expect({ a, b, v: ours.relative(a, b) }).toEqual({ a, b, v: node.relative(a, b) });
  }
  expect(ours.join()).toBe(node.join());
  expect(ours.resolve()).toBe(node.resolve());
});
