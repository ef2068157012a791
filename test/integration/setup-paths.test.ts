// The two ways a rootfs is set up — by bunc's own thread from the host, and by the Bun init
// from inside (BUNC_HOST_SETUP=0) — must give the same container (needs root). Compared on
// mountinfo: every mount reads as config.json says (source, type, options) on both paths;
// runtime-tools' runtimetest checks exactly that (a proc made by fsopen read `none`).
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRoot, fileSandbox } from "../support/harness";

const sb = fileSandbox();

/** mountinfo without what differs between any two mounts of a tree (ids, device numbers, peer group numbers). */
function normalized(mountinfo: string): string[] {
  return mountinfo.trim().split("\n").map((l) => {
    const [pre, post] = l.split(" - ");
    const f = pre!.split(" ");
    const optional = f.slice(6).map((o) => o.replace(/:\d+$/, "")).join(" ");
    return `${f[4]} ${f[3]} ${f[5]} [${optional}] - ${post}`;
  });
}

describe.skipIf(!isRoot)("rootfs setup paths (root)", () => {
  for (const userns of [false, true])
  test(`bunc's thread and the Bun init make the same mounts, with the config's sources${userns ? " (user namespace)" : ""}`, async () => {
    chmodSync(sb.dir, 0o711); // the container's root (a mapped id) passes through to its rootfs
    const hostdir = join(sb.dir, "hostdir");
    mkdirSync(hostdir, { recursive: true });
    writeFileSync(join(hostdir, "f"), "x");
    const b = await sb.bundle(`paths-${userns}`, ["cat", "/proc/self/mountinfo"], (c) => {
      c.mounts.push(
        { destination: "/data", type: "bind", source: hostdir, options: ["rbind", "ro", "nosuid"] },
        { destination: "/scratch", type: "tmpfs", source: "scratchfs", options: ["nosuid", "nodev", "size=1m", "mode=1777", "uid=5"] },
      );
      if (userns) {
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      }
    });
    const run = (id: string, env: Record<string, string>) => {
      const r = sb.run(["run", "-b", b, id], { env });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return normalized(r.stdout);
    };
    const fromHost = run(`paths-host-${userns}`, {});
    const fromInit = run(`paths-init-${userns}`, { BUNC_HOST_SETUP: "0" });
    const proc = fromHost.find((l) => l.startsWith("/proc "));
    expect(proc).toMatch(/ - proc proc rw/);
    expect(fromHost.find((l) => l.startsWith("/scratch "))).toMatch(/ - tmpfs scratchfs rw/);
    // Sorted: mountinfo lists mounts by mount id (Linux 6.8+), and in a user namespace the Bun
    // init gets its bind trees cloned by bunc before it mounts anything, so they list first.
    expect(userns ? fromHost.toSorted() : fromHost).toEqual(userns ? fromInit.toSorted() : fromInit);
  });
});
