// Rootless (needs root to set up, then runs bunc as uid 65534 with setpriv): a user
// namespace mapping the caller's uid to root, cgroups skipped with a warning.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, isRoot, fileSandbox } from "../support/harness";
import { createBundle } from "../../src/bundle";
import { alpineTarball } from "../support/rootfs";

const sb = fileSandbox();
const hasSetpriv = Bun.spawnSync(["which", "setpriv"]).exitCode === 0;

function chownTree(dir: string, uid: number) {
  Bun.spawnSync(["chown", "-R", `${uid}:${uid}`, dir]);
}

describe.skipIf(!isRoot || !hasSetpriv)("rootless (root to set up)", () => {
  test("bunc spec --rootless style config runs as an unprivileged user", async () => {
    chmodSync(sb.dir, 0o755);
    const bundle = join(sb.dir, "rl");
    await createBundle(alpineTarball(), bundle, { rootless: true, args: ["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/x && ls -n /tmp/x"], terminal: false });
    const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 65534, size: 1 }];
    cfg.linux.gidMappings = [{ containerID: 0, hostID: 65534, size: 1 }];
    cfg.root.readonly = false;
    writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
    chownTree(bundle, 65534);
    const root = join(sb.dir, "run");
    require("node:fs").mkdirSync(root, { mode: 0o700 });
    chownSync(root, 65534, 65534);
    const p = Bun.spawnSync(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", ...BUNC, "--root", root, "run", "-b", bundle, "rl1"], { stderr: "pipe" });
    const out = p.stdout.toString();
    if (p.exitCode !== 0) console.error(p.stderr.toString());
    expect(p.exitCode).toBe(0);
    expect(out.split("\n")[0]).toBe("0");
    expect(out).toMatch(/^\s*0\s+65534\s+1$/m);
    expect(out).toMatch(/ 0 +0 .*\/tmp\/x/);
    expect(p.stderr.toString()).toContain("rootless");
    const left = Bun.spawnSync(["ls", "-A", root]).stdout.toString().trim();
    expect(left).toBe("");
    chownTree(sb.dir, 0);
  });
});
