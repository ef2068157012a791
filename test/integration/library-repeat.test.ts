// Needs root. One process creating container after container while Bun starts threads of its
// own in between (thread pool reads): each host-side setup gives bunc's thread an fs struct
// of its own again, or setns(CLONE_NEWNS) would refuse a shared one (EINVAL).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { fileSandbox, isRoot, PROJECT } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";

const sb = fileSandbox();

describe.skipIf(!isRoot)("the library, many containers in one process (root)", () => {
  test("run() ten times with thread-pool work in between", () => {
    const script = `
      import { run } from ${JSON.stringify(join(PROJECT, "src/index.ts"))};
      import { readFile } from "node:fs/promises";
      for (let i = 0; i < 10; i++) {
        await Promise.all(Array.from({ length: 8 }, () => readFile("/proc/self/status")));
        const r = await run({ image: ${JSON.stringify(alpineTarball())}, cmd: ["echo", String(i)], root: ${JSON.stringify(sb.root)} });
        if (r.exitCode !== 0 || r.stdout !== i + "\\n") throw new Error("run " + i + ": " + JSON.stringify(r));
      }
      console.log("ok");
    `;
    const r = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, BUNC_CACHE_DIR: join(sb.dir, "cache") }, stdout: "pipe", stderr: "pipe", timeout: 120_000 });
    expect({ code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() }).toEqual({ code: 0, out: "ok\n", err: "" });
  }, 180_000);
});
