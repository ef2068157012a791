// Needs root. bunc runs as root in directories others write (a pull request's checkout,
// /tmp, a bundle): a bunfig.toml preload or a .env there must change nothing, in bunc or in
// the bunc it re-executes as a container's init, and nothing of it may reach a container.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot, PROJECT } from "../support/harness";

const sb = fileSandbox();
const id = () => "hc" + Math.random().toString(36).slice(2, 8);

/** Plants a bunfig.toml preload and a .env in `dir`; the preload leaves a marker in `markers`. */
function plant(dir: string, markers: string): void {
  mkdirSync(markers, { recursive: true });
  writeFileSync(join(dir, "evil.js"), `require("node:fs").writeFileSync(${JSON.stringify(markers)} + "/ran-" + process.pid, process.argv.join(" "));\n`);
  writeFileSync(join(dir, "bunfig.toml"), `preload = ["./evil.js"]\n[run]\npreload = ["./evil.js"]\n`);
  writeFileSync(join(dir, ".env"), "BUNC_PROBE=leaked\n_BUNC_INIT=5\nBUNC_ROOT=/tmp/bunc-hostile-root\nBUNC_NSEXEC=tcc\nBUN_OPTIONS=--preload ./evil.js\n");
}

describe.skipIf(!isRoot)("a hostile working directory (root)", () => {
  const markers = join(sb.dir, "markers");
  let cwd: string, bundle: string;

  test("setup: bunfig.toml and .env planted in the working directory, the bundle and the rootfs", async () => {
    cwd = join(sb.dir, "work");
    mkdirSync(cwd, { recursive: true });
    plant(cwd, markers);
    bundle = await sb.bundle("hostile", ["sleep", "60"], () => {}, true);
    plant(bundle, markers);
    plant(join(bundle, "rootfs"), markers);
    expect(readdirSync(markers)).toEqual([]);
  });

  test("no command runs the preload or reads .env, and the probe reaches no container", () => {
    const c = id();
    const run = (args: string[]) => sb.run(args, { cwd });
    expect(run(["--version"]).stdout).toContain("bunc version");
    mkdirSync(join(sb.dir, "spec-out"));
    expect(run(["spec", "--bundle", join(sb.dir, "spec-out")]).code).toBe(0);
    expect(run(["list"]).code).toBe(0);
    expect(run(["features"]).code).toBe(0);
    const created = run(["create", "-b", bundle, c]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    // BUNC_ROOT from .env would have moved the state elsewhere.
    expect(existsSync("/tmp/bunc-hostile-root")).toBe(false);
    expect(JSON.parse(run(["state", c]).stdout).status).toBe("created");
    expect(run(["start", c]).code).toBe(0);
    const env = run(["exec", c, "env"]);
    expect(env.code).toBe(0);
    expect(env.stdout).not.toContain("BUNC_PROBE");
    expect(env.stdout).not.toContain("_BUNC_INIT");
    expect(env.stdout).not.toContain("BUN_OPTIONS");
    // From inside the rootfs as working directory too (exec re-executes bunc there).
    expect(sb.run(["exec", "--cwd", "/", c, "sh", "-c", "cat /proc/1/environ | tr '\\0' '\\n'"], { cwd: join(bundle, "rootfs") }).stdout).not.toContain("BUNC_PROBE");
    expect(run(["ps", c]).code).toBe(0);
    expect(run(["pause", c]).code).toBe(0);
    expect(run(["resume", c]).code).toBe(0);
    expect(run(["kill", c, "KILL"]).code).toBe(0);
    expect(run(["delete", "--force", c]).code).toBe(0);
    expect(readdirSync(markers)).toEqual([]);
  });

  test("a one-shot run from the rootfs directory sees exactly config.json's environment", async () => {
    const b = await sb.bundle("hostile-env", ["env"], (c) => (c.process.env = ["PATH=/bin:/usr/bin", "ONLY=this"]), true);
    plant(b, markers);
    plant(join(b, "rootfs"), markers);
    const r = sb.run(["run", "-b", b, id()], { cwd: join(b, "rootfs") });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const vars = r.stdout.trim().split("\n").map((l) => l.split("=")[0]).sort();
    expect(vars).toEqual(["HOME", "ONLY", "PATH"]);
    expect(readdirSync(markers)).toEqual([]);
  });

  test("the build turns every autoload off", () => {
    const build = require("node:fs").readFileSync(join(PROJECT, "scripts/build.ts"), "utf8");
    for (const flag of ["--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv"]) expect(build).toContain(flag);
  });
});
