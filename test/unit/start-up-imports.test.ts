// What `bunc --version`, `state`, `start`, `delete`, `kill` and `bundle` load: no node:fs
// and no node:path. Loading node:fs costs a command ~0.9 ms of start-up and ~3.5 MiB of RSS,
// node:path ~0.35 ms (README, Performance); the first four are what engines call for every
// container, and `bundle` has an RSS budget. Bundled as scripts/build.ts bundles (ESM chunks), then
// the static imports are followed from the entry, the dispatcher and the state command.
import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

// One build for every test here: the chunks by name (unminified: each names its modules' sources in comments).
let built: Promise<{ chunks: Map<string, string>; main: string }> | undefined;
const bundle = () => (built ??= (async () => {
  const b = await Bun.build({ entrypoints: [join(root, "src/cli/main.ts")], target: "bun", format: "esm", splitting: true, naming: { chunk: "[name]-[hash].[ext]" }, define: { BUNC_LIBC: '"glibc"' } });
  expect(b.success).toBe(true);
  const chunks = new Map<string, string>();
  for (const o of b.outputs) chunks.set(o.path.replace(/^.*\//, ""), await o.text());
  return { chunks, main: b.outputs.find((o) => o.kind === "entry-point")!.path.replace(/^.*\//, "") };
})());
/** The chunks `name` loads at once: its static imports, followed. */
function closure(chunks: Map<string, string>, name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  for (const m of chunks.get(name)!.matchAll(/(?:from|import)\s*"\.\/([^"]+)"/g)) closure(chunks, m[1]!, seen);
  return seen;
}
/** The chunk of a command's module (commands/<name>.ts), not of a module that shares the prefix (create-plan). */
const commandChunk = (chunks: Map<string, string>, name: string) => [...chunks.keys()].find((k) => new RegExp(`^${name}-[a-z0-9]+\\.js$`).test(k))!;
/** The source modules a command loads with it. */
async function commandModules(name: string): Promise<string[]> {
  const { chunks } = await bundle();
  return [...closure(chunks, commandChunk(chunks, name))].flatMap((c) => [...chunks.get(c)!.matchAll(/^\/\/ (src\/\S+)$/gm)].map((m) => m[1]!));
}

test("the dispatcher, `state`, `start`, `delete`, `kill` and `bundle` import neither node:fs nor node:path at load; the dispatcher not the FFI", async () => {
  const { chunks, main } = await bundle();
  const dispatch = [...chunks.keys()].find((k) => k.startsWith("dispatch-"))!;
  for (const entry of [main, dispatch, ...["state", "start", "delete", "kill", "bundle", "exec", "create", "run"].map((n) => commandChunk(chunks, n))]) {
    expect(entry).toBeDefined();
    // `--version` (the dispatcher alone) does not load the FFI either (~0.4 ms).
    const avoided = entry === main || entry === dispatch ? /(?:from|import)\s*"((?:node:)?(?:fs|path|os)|bun:ffi)"/g : /(?:from|import)\s*"((?:node:)?(?:fs|path|os))"/g;
    for (const chunk of closure(chunks, entry)) {
      const builtins = [...chunks.get(chunk)!.matchAll(avoided)].map((m) => m[1]);
      expect({ entry, chunk, builtins }).toEqual({ entry, chunk, builtins: [] });
    }
  }
});

test("`exec` of a plain command loads neither the cgroup manager nor the terminal, the Bun init's channel or the container-setup process code", async () => {
  // Each module an exec loads costs it start-up time and JavaScript heap (README, Performance):
  // joining the container's cgroups needs membership.ts alone, a terminal and the Bun init
  // (no native init) load theirs when used.
  const modules = await commandModules("exec");
  expect(modules).toContain("src/linux/cgroups/membership.ts");
  const avoided = ["src/linux/cgroups/manager.ts", "src/linux/cgroups/systemd.ts", "src/linux/terminal.ts", "src/runtime/tty-relay.ts", "src/runtime/channel.ts", "src/sys/self-exe.ts", "src/linux/process.ts"];
  expect(modules.filter((m) => avoided.includes(m))).toEqual([]);
});

test("valibot is bundled without the parts bunc does not use (no whole-package import)", async () => {
  // A dynamic `import("valibot")` made the bundler keep all of valibot (82 KB minified) in the
  // chunk every config parse loads: create and run loaded 4× the schema code they use
  // (README, Performance). Only what the schemas name may be bundled.
  const code = [...(await bundle()).chunks.values()].join("\n");
  expect(code).toMatch(/function safeParse\d*\(/); // valibot is there
  const unused = ["creditCard", "safeParseAsync", "toCamelCase", "isbn", "jwsCompact"].filter((name) => new RegExp(`function ${name}\\d*\\(`).test(code));
  expect(unused).toEqual([]);
});

test("no command loads the bun:ffi module: bunc binds symbols through its native half (sys/libc.ts)", async () => {
  // The module is JavaScript compiled from source at its first import, and builds each symbol's
  // argument conversions with `new Function`: ~2.75 MiB of peak RSS and 7-10 heap blocks of
  // every command that calls the kernel (README, Performance). It stays for TinyCC alone.
  const outputs = [...(await bundle()).chunks].map(([name, text]) => ({ name, text }));
  expect(outputs.filter((o) => /(?:from|import)\s*"bun:ffi"/.test(o.text)).map((o) => o.name)).toEqual([]);
  expect(outputs.some((o) => o.text.includes("Bun.FFI"))).toBe(true);
});

test("create loads what every create runs with it: no lazy require on its common path", async () => {
  // A command's first `require()` inside a function costs it ~0.2-0.3 ms (README, Performance);
  // the host checks and the owner's name run in every create.
  const modules = await commandModules("create");
  expect(modules).toContain("src/runtime/create-steps.ts");
  expect(["src/runtime/host-checks.ts", "src/linux/passwd.ts"].filter((m) => !modules.includes(m))).toEqual([]);
});
