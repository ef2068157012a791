// Needs root and iproute2 (a test tool only: bunc speaks rtnetlink itself). linux.netDevices
// (spec 1.3): a host device the test creates moves into the container's network namespace
// under its new name, and back to the host under its own at delete.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { fileSandbox, isRoot } from "../support/harness";
import { skipping } from "../support/host";

const sb = fileSandbox();
const uid = () => "nd" + Math.random().toString(36).slice(2, 7);
const hasIp = Bun.which("ip") !== null;

const TYPES: Record<string, (name: string) => string[]> = {
  ifb: () => ["type", "ifb"],
  veth: (name) => ["type", "veth", "peer", "name", `${name}p`],
  dummy: () => ["type", "dummy"],
};
/**
 * The first device type this kernel can make (some hosts lack one module or another, e.g.
 * dummy), tried in a network namespace that goes away with the probe (on the host, and
 * deleted at once, without unshare).
 */
function probeDeviceType(): string | undefined {
  const unshare = Bun.which("unshare");
  return Object.keys(TYPES).find((type) => {
    const name = "bnprobe" + Math.random().toString(36).slice(2, 6);
    const add = ["ip", "link", "add", name, ...TYPES[type]!(name)];
    if (unshare) return Bun.spawnSync([unshare, "--net", ...add]).exitCode === 0;
    const ok = Bun.spawnSync(add).exitCode === 0;
    if (ok) Bun.spawnSync(["ip", "link", "del", name]);
    return ok;
  });
}
const deviceType = isRoot && hasIp ? probeDeviceType() : undefined;
const noDevice = isRoot && hasIp && skipping(!deviceType, "linux.netDevices cases that move a device", "this kernel makes none of ifb, veth, dummy");

/** A throwaway device on the host, of the type the probe found. */
function makeDevice(name: string): () => void {
  const r = Bun.spawnSync(["ip", "link", "add", name, ...TYPES[deviceType!]!(name)], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip link add ${name} type ${deviceType}: ${r.stderr.toString().trim()}`);
  return () => { Bun.spawnSync(["ip", "link", "del", name]); };
}

const withNetns = (c: any) => {
  if (!c.linux.namespaces.some((n: any) => n.type === "network")) c.linux.namespaces.push({ type: "network" });
};

describe.skipIf(!isRoot || !hasIp)("linux.netDevices (root)", () => {
  test.skipIf(noDevice)(`moved in and renamed at create, back under its host name at delete (${deviceType ?? "no device type"})`, async () => {
    const dev = "bn" + Math.random().toString(36).slice(2, 8);
    const remove = makeDevice(dev);
    const id = uid();
    try {
      const b = await sb.bundle(id, ["sleep", "30"], (c) => {
        withNetns(c);
        c.linux.netDevices = { [dev]: { name: "eth7" } };
      });
      sb.ok(["create", "-b", b, id]);
      expect(existsSync(`/sys/class/net/${dev}`)).toBe(false);
      sb.ok(["start", id]);
      expect(sb.ok(["exec", id, "ls", "/sys/class/net"]).split("\n")).toContain("eth7");
      sb.ok(["delete", "--force", id]);
      expect(existsSync(`/sys/class/net/${dev}`)).toBe(true);
    } finally {
      sb.run(["delete", "--force", id]);
      remove();
    }
  });

  test("a missing device, a bad name or no network namespace fail create, nothing left", async () => {
    const dev = "bn" + Math.random().toString(36).slice(2, 8);
    const missing: [string, (c: any) => void] = [`linux.netDevices["nosuchdev0"]`, (c) => { withNetns(c); c.linux.netDevices = { nosuchdev0: {} }; }];
    // Without a device of the host's to name, only the missing one is tried.
    const remove = noDevice ? () => {} : makeDevice(dev);
    try {
      const cases: [string, (c: any) => void][] = noDevice ? [missing] : [
        missing,
        [`linux.netDevices["${dev}"].name`, (c) => { withNetns(c); c.linux.netDevices = { [dev]: { name: "a/b" } }; }],
        ["linux.netDevices: needs a network namespace", (c) => {
          c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "network");
          c.linux.netDevices = { [dev]: {} };
        }],
        // Joining the host's own network namespace by path is no namespace of the container's.
        ["linux.netDevices: needs a network namespace", (c) => {
          c.linux.namespaces = [...c.linux.namespaces.filter((n: any) => n.type !== "network"), { type: "network", path: "/proc/self/ns/net" }];
          c.linux.netDevices = { [dev]: {} };
        }],
      ];
      for (const [msg, edit] of cases) {
        const id = uid();
        const b = await sb.bundle(id, ["true"], edit);
        const r = sb.run(["create", "-b", b, id]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(msg);
        expect(sb.containers()).toEqual([]);
        expect(existsSync(`/sys/class/net/${dev}`)).toBe(!noDevice);
      }
    } finally {
      remove();
    }
  });
});
