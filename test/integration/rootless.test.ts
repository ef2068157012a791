// Rootless (needs root to set up, then runs bunc as uid 65534 with setpriv): a user
// namespace mapping the caller's uid to root, cgroups skipped with a warning.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, isRoot, fileSandbox } from "../support/harness";
import { createBundle } from "../../src/bundle";
import { alpineTarball } from "../../scripts/alpine-tarball";

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
    // No resources asked for: nothing skipped worth a warning.
    expect(p.stderr.toString()).toBe("");
    const left = Bun.spawnSync(["ls", "-A", root]).stdout.toString().trim();
    expect(left).toBe("");
    chownTree(sb.dir, 0);
  });

  test("as an unprivileged user: exec works, pause says why it cannot, resources warn, a config without a user namespace gets a hint", async () => {
    chmodSync(sb.dir, 0o755);
    const bundle = join(sb.dir, "rl2");
    await createBundle(alpineTarball(), bundle, { rootless: true, args: ["sleep", "30"], terminal: false });
    const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    cfg.linux.uidMappings = [{ containerID: 0, hostID: 65534, size: 1 }];
    cfg.linux.gidMappings = [{ containerID: 0, hostID: 65534, size: 1 }];
    writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
    chownTree(bundle, 65534);
    const root = join(sb.dir, "run2");
    require("node:fs").mkdirSync(root, { mode: 0o700 });
    chownSync(root, 65534, 65534);
    const as = (args: string[], detached = false) => {
      // A detached container keeps its stdio: no pipe to wait on for it.
      const p = Bun.spawnSync(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", ...BUNC, "--root", root, ...args],
        { stdout: detached ? "ignore" : "pipe", stderr: detached ? "ignore" : "pipe", timeout: 30_000 });
      return { code: p.exitCode, stdout: p.stdout?.toString() ?? "", stderr: p.stderr?.toString() ?? "" };
    };
    const id = "rl" + Math.random().toString(36).slice(2, 7);
    try {
      expect(as(["run", "-d", "-b", bundle, id], true).code).toBe(0);
      const ex = as(["exec", id, "id", "-u"]);
      expect(ex.stderr).toBe("");
      expect(ex.stdout).toBe("0\n");
      const pause = as(["pause", id]);
      expect(pause.code).toBe(1);
      expect(pause.stderr).toContain("no cgroup of its own");
    } finally {
      as(["delete", "--force", id]);
    }
    cfg.linux.resources = { pids: { limit: 100 } };
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ ...cfg, process: { ...cfg.process, args: ["true"] } }));
    const limited = as(["run", "-b", bundle, id + "l"]);
    expect(limited.code).toBe(0);
    expect(limited.stderr).toContain("linux.resources ignored");
    cfg.linux.namespaces = cfg.linux.namespaces.filter((n: any) => n.type !== "user");
    delete cfg.linux.uidMappings;
    delete cfg.linux.gidMappings;
    writeFileSync(join(bundle, "config.json"), JSON.stringify({ ...cfg, process: { ...cfg.process, args: ["true"] } }));
    const noUserns = as(["run", "-b", bundle, id + "n"]);
    expect(noUserns.code).toBe(1);
    expect(noUserns.stderr).toContain("bunc spec --rootless");
    expect(Bun.spawnSync(["ls", "-A", root]).stdout.toString().trim()).toBe("");
    chownTree(sb.dir, 0);
  });

  test("a one-shot run by an unprivileged user picks a rootless config by itself", () => {
    chmodSync(sb.dir, 0o755);
    const root = join(sb.dir, "run3");
    require("node:fs").mkdirSync(root, { mode: 0o700 });
    chownSync(root, 65534, 65534);
    const tarball = join(sb.dir, "alpine.tgz");
    require("node:fs").copyFileSync(alpineTarball(), tarball);
    chmodSync(tarball, 0o644);
    const p = Bun.spawnSync(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", ...BUNC, "--root", root, "run", "--rootfs", tarball, "--", "id", "-u"],
      { stderr: "pipe", timeout: 60_000 });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    expect(p.stdout.toString()).toBe("0\n");
    expect(Bun.spawnSync(["ls", "-A", root]).stdout.toString().trim()).toBe("");
  });
});
