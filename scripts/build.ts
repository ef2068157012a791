#!/usr/bin/env bun
// Builds the single executable: dist/bunc (linux-x64 glibc) and, with --musl,
// dist/bunc-musl (linux-x64-musl for Alpine images; needs Alpine's libstdc++ and libgcc).
import { $ } from "bun";
import { mkdirSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const musl = process.argv.includes("--musl");
const arch = process.arch === "arm64" ? "arm64" : "x64";
mkdirSync(`${root}dist`, { recursive: true });

async function build(target: string, out: string) {
  const t = performance.now();
  // --bytecode: start-up is parsed ahead of time (every bunc command is a fresh process).
  await $`bun build --compile --minify --bytecode --target=${target} ${root}src/cli/main.ts --outfile ${out}`.cwd(root).quiet();
  console.log(`built ${out} (${target}) in ${Math.round(performance.now() - t)} ms`);
}

await build(`bun-linux-${arch}`, `${root}dist/bunc`);
if (musl) await build(`bun-linux-${arch}-musl`, `${root}dist/bunc-musl`);
