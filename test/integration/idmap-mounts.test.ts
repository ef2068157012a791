// Needs root. Idmapped bind mounts (spec 1.3): "idmap"/"ridmap" with per-mount mappings,
// made on the host (open_tree + MOUNT_ATTR_IDMAP) and moved into the container.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const uid = () => "im" + Math.random().toString(36).slice(2, 7);
const map = (containerID: number, hostID: number) => [{ containerID, hostID, size: 1 }];

describe.skipIf(!isRoot)("idmapped mounts (root)", () => {
  test("a root-owned source shows the mapped owner; the host's files keep theirs", async () => {
    const src = join(sb.dir, `src-${uid()}`);
    mkdirSync(src);
    writeFileSync(join(src, "f"), "x");
    const b = await sb.bundle(uid(), ["stat", "-c", "%u:%g", "/data/f"], (c) => {
      c.mounts.push({ destination: "/data", type: "bind", source: src, options: ["bind", "idmap"], uidMappings: map(0, 1000), gidMappings: map(0, 2000) });
    });
    const r = sb.run(["--debug", "run", "-b", b, uid()]);
    expect(r.stderr).not.toMatch(/error|warn/i);
    expect(r.stderr).toContain("(by bunc, pivot_root)"); // set up by bunc's own thread, no Bun init
    expect(r.stdout).toBe("1000:2000\n");
    expect(require("node:fs").statSync(join(src, "f")).uid).toBe(0);
  });

  test("mappings without \"idmap\" or \"ridmap\" are read as idmap, the top mount only (as runc and crun)", async () => {
    // The spec: a config with mappings SHOULD name the option; one that does not is still valid.
    const src = join(sb.dir, `src-${uid()}`);
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "f"), "x");
    const sub = join(src, "sub");
    require("node:child_process").execFileSync("mount", ["-t", "tmpfs", "tmpfs", sub]);
    try {
      writeFileSync(join(sub, "g"), "y");
      const b = await sb.bundle(uid(), ["stat", "-c", "%u:%g", "/data/f", "/data/sub/g"], (c) => {
        c.mounts.push({ destination: "/data", type: "bind", source: src, options: ["rbind"], uidMappings: map(0, 1000), gidMappings: map(0, 2000) });
      });
      const r = sb.run(["run", "-b", b, uid()]);
      expect(r.stderr).toBe("");
      // "idmap" maps the top mount; the submount under it keeps its owners ("ridmap" would map it too)
      expect(r.stdout).toBe("1000:2000\n0:0\n");
    } finally {
      require("node:child_process").execFileSync("umount", [sub]);
    }
  });

  test("bad idmap configs fail create with the mount named, nothing left behind", async () => {
    const cases: [string, (c: any) => void][] = [
      ["idmap is only supported for bind mounts", (c) => c.mounts.push({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["idmap"], uidMappings: map(0, 1), gidMappings: map(0, 1) })],
      ["idmap needs both uidMappings and gidMappings", (c) => c.mounts.push({ destination: "/t", type: "bind", source: "/tmp", options: ["bind"], uidMappings: map(0, 1) })],
      ["idmap needs uidMappings and gidMappings, or a user namespace", (c) => c.mounts.push({ destination: "/t", type: "bind", source: "/tmp", options: ["bind", "idmap"] })],
    ];
    for (const [msg, edit] of cases) {
      const id = uid();
      const b = await sb.bundle(id, ["true"], edit);
      const r = sb.run(["create", "-b", b, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(msg);
      expect(r.stderr).toContain("mounts[");
      expect(sb.containers()).toEqual([]);
    }
  });

  test("features says idmap is supported", () => {
    const f = JSON.parse(Bun.spawnSync([...BUNC, "features"]).stdout.toString());
    expect(f.linux.mountExtensions.idmap.enabled).toBe(true);
    expect(f.mountOptions).toContain("idmap");
  });
});
