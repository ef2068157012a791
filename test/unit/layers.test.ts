// The architecture as a test: imports flow cli -> runtime -> linux, image -> bundle -> sys, with spec
// beside them (linux, bundle and runtime read the schemas; spec reads only sys), and bun:ffi
// is imported by src/sys alone.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");
const ALLOWED: Record<string, string[]> = {
  sys: ["sys"],
  spec: ["spec", "sys"],
  linux: ["linux", "spec", "sys"],
  bundle: ["bundle", "spec", "sys"],
  image: ["image", "bundle", "spec", "sys"],
  runtime: ["runtime", "linux", "image", "bundle", "spec", "sys"],
  cli: ["cli", "runtime", "image", "bundle", "spec", "sys"],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const layerOf = (file: string) => relative(SRC, file).split("/")[0]!;

describe("layers", () => {
  const all = files(SRC).filter((f) => layerOf(f) in ALLOWED);

  test("every relative import goes down (or beside, to spec)", () => {
    const wrong: string[] = [];
    for (const f of all) {
      const from = layerOf(f);
      for (const m of readFileSync(f, "utf8").matchAll(/(?:from|require\(|import\()\s*"(\.[^"]+)"/g)) {
        const to = layerOf(resolve(dirname(f), m[1]!));
        if (to in ALLOWED && !ALLOWED[from]!.includes(to)) wrong.push(`${relative(SRC, f)} -> ${m[1]}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("no two modules import each other, even for a type", () => {
    const imports = new Map(all.map((f) => [f, new Set([...readFileSync(f, "utf8").matchAll(/(?:from|require\(|import\()\s*"(\.[^"]+)"/g)].map((m) => resolve(dirname(f), m[1]!).replace(/(\.ts)?$/, ".ts")))]));
    const mutual = all.flatMap((f) => [...imports.get(f)!].filter((g) => f < g && imports.get(g)?.has(f)).map((g) => `${relative(SRC, f)} <-> ${relative(SRC, g)}`));
    expect(mutual).toEqual([]);
  });

  test("one FFI module: only src/sys/libc.ts loads bun:ffi or touches Bun.FFI (types aside)", () => {
    const ffi = files(SRC).filter((f) => /(?<!import type [^;]*)from "bun:ffi"|require\("bun:ffi"\)|Bun(?: as any\))?\.FFI\b/.test(readFileSync(f, "utf8")));
    expect(ffi.map((f) => relative(SRC, f))).toEqual(["sys/libc.ts"]);
  });
});
