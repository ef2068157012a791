// Needs root. Hooks as runc and crun run them: without `env` a hook gets the runtime's own
// environment (a startContainer hook the process's); runtime-namespace hooks work in the
// bundle, createContainer in the rootfs.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const uid = () => "hk" + Math.random().toString(36).slice(2, 7);

describe.skipIf(!isRoot)("hooks as runc (root)", () => {
  test("no env: the runtime's environment; cwd: the bundle, or the rootfs for createContainer", async () => {
    const id = uid();
    const out = join(sb.dir, `${id}.log`);
    const hook = join(sb.dir, `${id}-hook.sh`);
    // Runs on the host (runtime namespace) or in the container's mount namespace before
    // pivot_root (createContainer): the host path of the log is reachable from both.
    writeFileSync(hook, `#!/bin/sh\necho "$1 cwd=$(pwd) probe=$HOOK_PROBE" >> ${out}\n`);
    chmodSync(hook, 0o755);
    const b = await sb.bundle(id, ["true"], (c) => {
      c.hooks = Object.fromEntries(["prestart", "createRuntime", "createContainer", "poststart", "poststop"].map((k) => [k, [{ path: hook, args: [hook, k] }]]));
    }, true);
    const r = sb.run(["run", "-b", b, id], { env: { HOOK_PROBE: "from-bunc" } });
    expect(r.stderr).toBe("");
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toEqual([
      `prestart cwd=${b} probe=from-bunc`,
      `createRuntime cwd=${b} probe=from-bunc`,
      `createContainer cwd=${join(b, "rootfs")} probe=from-bunc`,
      `poststart cwd=${b} probe=from-bunc`,
      `poststop cwd=${b} probe=from-bunc`,
    ]);
  });

  // runc runs it in the init with the process's environment (its hooks.bats keeps that
  // "historical" behaviour): bunc's own does not reach inside the container (hooks.test.ts
  // checks the process's variables are there).
  test("a startContainer hook without env gets the process's environment, not the runtime's", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["cat", "/probe"], (c) => {
      c.process.env = ["PATH=/bin:/usr/bin", "IN_PROCESS=yes"];
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "echo ${HOOK_PROBE:-none} $IN_PROCESS > /probe"] }] };
    }, true);
    const r = sb.run(["run", "-b", b, id], { env: { HOOK_PROBE: "start-probe" } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("none yes\n");
  });

  test("a startContainer hook runs in process.cwd (as runc)", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["cat", "/hook-cwd"], (c) => {
      c.process.cwd = "/etc";
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "pwd > /hook-cwd"] }] };
    }, true);
    const r = sb.run(["run", "-b", b, id]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/etc\n");
  });
});
