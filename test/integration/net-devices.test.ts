// Needs root and iproute2 (a test tool only: bunc speaks rtnetlink itself). linux.netDevices
// (spec 1.3): a host device the test creates moves into the container's network namespace
// under its new name, and back to the host under its own at delete.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const uid = () => "nd" + Math.random().toString(36).slice(2, 7);
const hasIp = Bun.which("ip") !== null;

/** A throwaway device on the host: ifb, or one end of a veth pair where ifb is missing. */
function makeDevice(name: string): () => void {
  for (const args of [["type", "ifb"], ["type", "veth", "peer", "name", `${name}p`]]) {
    if (Bun.spawnSync(["ip", "link", "add", name, ...args]).exitCode === 0)
      return () => { Bun.spawnSync(["ip", "link", "del", name]); };
  }
  throw new Error("cannot create a test network device (neither ifb nor veth)");
}

const withNetns = (c: any) => {
  if (!c.linux.namespaces.some((n: any) => n.type === "network")) c.linux.namespaces.push({ type: "network" });
};

describe.skipIf(!isRoot || !hasIp)("linux.netDevices (root)", () => {
  test("moved in and renamed at create, back under its host name at delete", async () => {
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
    const remove = makeDevice(dev);
    try {
      const cases: [string, (c: any) => void][] = [
        [`linux.netDevices["nosuchdev0"]`, (c) => { withNetns(c); c.linux.netDevices = { nosuchdev0: {} }; }],
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
        expect(existsSync(`/sys/class/net/${dev}`)).toBe(true);
      }
    } finally {
      remove();
    }
  });
});
