#!/usr/bin/env bun
// Builds the single executable: dist/bunc (linux-x64 glibc) and, with --musl,
// dist/bunc-musl (linux-x64-musl for Alpine images; needs Alpine's libstdc++ and libgcc).
import { $ } from "bun";
import { existsSync, mkdirSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const musl = process.argv.includes("--musl");
const arch = process.arch === "arm64" ? "arm64" : "x64";
mkdirSync(`${root}dist`, { recursive: true });

/**
 * A C helper prebuilt as a shared object (no libc headers or libs: its symbols resolve in the
 * running bunc, glibc or musl alike), embedded in the binary: nsexec.c, so that create/exec
 * need not run TinyCC (without a C compiler the binary compiles it at run time instead), and
 * inflate-thread.c (defined into the bundle below), which unpacking uses where it is there.
 */
async function buildSharedObject(name: string): Promise<string | undefined> {
  const out = `${root}dist/${name}-${arch}.so`;
  const cc = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");
  if (!cc || process.arch !== (arch === "x64" ? "x64" : "arm64")) return undefined;
  const r = await $`${cc} -O2 -shared -fPIC -nostdlib -fno-stack-protector -Wall -o ${out} ${root}src/sys/${name}.c`.nothrow().quiet();
  if (r.exitCode !== 0) {
    console.warn(`${name}.c not prebuilt (${cc} failed: ${r.stderr.toString().trim()})`);
    return undefined;
  }
  return out;
}
const nsexecSo = await buildSharedObject("nsexec");
const inflateThreadSo = await buildSharedObject("inflate-thread");

/**
 * native-init.c as a small static executable (no libc: raw syscalls): the container's
 * process from `start` to execve, so no Bun waits in a created container. Its request
 * layout comes from src/sys/native-request.ts, its syscall numbers from src/sys/arch.ts. Without a C compiler the Bun init does it all.
 */
async function buildNativeInit(): Promise<string | undefined> {
  const out = `${root}dist/bunc-init-${arch}`;
  const cc = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");
  if (!cc) return undefined;
  const { generateHeader } = await import("../src/sys/native-request");
  const { generateSyscallHeader } = await import("../src/sys/arch");
  mkdirSync(`${root}dist/gen`, { recursive: true });
  await Bun.write(`${root}dist/gen/native-request.h`, generateHeader());
  await Bun.write(`${root}dist/gen/native-syscalls.h`, generateSyscallHeader());
  const flags = ["-O2", "-static", "-nostdlib", "-nostartfiles", "-ffreestanding", "-fno-builtin", "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fno-pie", "-no-pie", "-Wall", "-Werror"];
  const r = await $`${cc} ${flags} -I${root}dist/gen -o ${out} ${root}src/sys/native-init.c`.nothrow().quiet();
  if (r.exitCode !== 0) {
    console.warn(`native-init.c not built (${cc} failed: ${r.stderr.toString().trim()}); created containers will wait in a Bun init`);
    return undefined;
  }
  return out;
}
const nativeInit = await buildNativeInit();

async function build(target: string, out: string) {
  const t = performance.now();
  const extra = [nsexecSo, nativeInit].filter((f): f is string => !!f);
  // --bytecode: start-up is parsed ahead of time (every bunc command is a fresh process);
  // ESM with --splitting: each command's modules are a chunk loaded when it runs, so
  // `bunc --version` or `state` does not load what `create` needs. One CommonJS file (lazy
  // __esm wrappers) was tried: run -1 ms CPU, but --version +1.3 and state +0.7 (the whole
  // file's bytecode is loaded by every command), so ESM stays.
  // No autoload: bunc runs as root in directories others write, so a bunfig.toml (preload)
  // or .env there must not run code or set variables in bunc or its re-executed init.
  const noAutoload = ["--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv", "--no-compile-autoload-tsconfig", "--no-compile-autoload-package-json"];
  // --compile-jit-policy: every bunc command is a short run-once process; at the normal policy
  // JavaScriptCore's JIT threads compile start-up code that never runs again, and on a busy
  // 2-core machine they take the CPU from the command itself (create: ~30% of its CPU time).
  // 100x the tier-up thresholds keeps run-once code in the bytecode interpreter; hot loops
  // (a long terminal relay, `events`) still tier up, later.
  const jit = ["--compile-jit-policy=100"];
  // The bytecode each command reads placed together at the front of the payload, by the profile
  // scripts/bytecode-order.ts records (functions matched by a hash of their syntax, so it applies
  // to later code too): each command touches ~1 MiB less of the binary (README, Performance).
  const order = existsSync(`${root}scripts/bunc.order`) ? [`--bytecode-order=${root}scripts/bunc.order`] : [];
  // The libc the target links (src/sys/libc.ts): known here, so bunc need not read its own maps.
  const libc = ["--define", `BUNC_LIBC=${JSON.stringify(target.includes("musl") ? "musl" : "glibc")}`];
  // inflate-thread.so as base64 in the code that loads it (sys/native-helper.ts): read as an
  // embedded file through Bun's Blobs, it cost `bunc bundle` 0.4 MiB more of peak RSS.
  const helpers = inflateThreadSo ? ["--define", `BUNC_INFLATE_THREAD_SO=${JSON.stringify(Buffer.from(await Bun.file(inflateThreadSo).bytes()).toString("base64"))}`] : [];
  await $`bun build --compile --format=esm --splitting --minify --bytecode ${jit} ${order} ${noAutoload} ${libc} ${helpers} --target=${target} ${root}src/cli/main.ts ${extra} --outfile ${out}`.cwd(root).quiet();
  console.log(`built ${out} (${target}) in ${Math.round(performance.now() - t)} ms`);
}

await build(`bun-linux-${arch}`, `${root}dist/bunc`);
if (musl) await build(`bun-linux-${arch}-musl`, `${root}dist/bunc-musl`);
