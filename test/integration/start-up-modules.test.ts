// No Node module on the common path of the commands engines call (needs root): run under
// Bun's sampling profiler (BUN_OPTIONS, read by the compiled binary), no frame of a command
// may come from node:fs, node:path, node:os or another node: module. Loading node:fs alone
// costs a command ~0.9 ms and ~3.5 MiB (README, Performance). test/unit/start-up-imports
// checks the static imports; this checks the lazy ones that a command actually reaches.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { isRoot, fileSandbox } from "../support/harness";

const sb = fileSandbox();

function nodeModulesSeen(dir: string, name: string): string[] {
  const file = join(dir, `${name}.cpuprofile`);
  const p = JSON.parse(readFileSync(file, "utf8"));
  return [...new Set<string>(p.nodes.map((n: any) => String(n.callFrame.url)).filter((u: string) => u.startsWith("node:")))];
}

describe.skipIf(!isRoot)("start-up modules (root)", () => {
  test("--version, bundle, create, state, start, exec, ps, features, spec, kill, delete and run load no node: module", async () => {
    const dir = join(sb.dir, "profiles");
    mkdirSync(dir);
    const profiled = (name: string, args: string[]) => {
      sb.ok(args, { env: { BUN_OPTIONS: `--cpu-prof --cpu-prof-interval=1 --cpu-prof-dir=${dir} --cpu-prof-name=${name}.cpuprofile` } });
      return nodeModulesSeen(dir, name);
    };
    const sleeper = await sb.bundle("mods", ["sleep", "30"]);
    const once = await sb.bundle("modsrun", ["true"]);
    const seen: Record<string, string[]> = {
      version: profiled("version", ["--version"]),
      bundle: profiled("bundle", ["bundle", alpineTarball(), join(sb.dir, "bundled")]),
      create: profiled("create", ["create", "-b", sleeper, "mods"]),
      state: profiled("state", ["state", "mods"]),
      start: profiled("start", ["start", "mods"]),
      exec: profiled("exec", ["exec", "mods", "/bin/true"]),
      ps: profiled("ps", ["ps", "mods"]),
      features: profiled("features", ["features"]),
      spec: profiled("spec", ["spec", "--bundle", sb.dir]),
      kill: profiled("kill", ["kill", "mods", "KILL"]),
      delete: profiled("delete", ["delete", "--force", "mods"]),
      run: profiled("run", ["run", "-b", once, "modsrun"]),
    };
    // Every command wrote its profile: the check itself ran.
    expect(readdirSync(dir).length).toBe(Object.keys(seen).length);
    expect(seen).toEqual(Object.fromEntries(Object.keys(seen).map((k) => [k, []])));
  });

  test("an error line loads no node: module either (engines ask the state of containers that are gone)", () => {
    const dir = join(sb.dir, "error-profiles");
    mkdirSync(dir);
    const r = sb.run(["state", "no-such-container"], { env: { BUN_OPTIONS: `--cpu-prof --cpu-prof-interval=1 --cpu-prof-dir=${dir} --cpu-prof-name=state-unknown.cpuprofile` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('bunc: container "no-such-container" does not exist\n');
    expect(nodeModulesSeen(dir, "state-unknown")).toEqual([]);
  });
});
