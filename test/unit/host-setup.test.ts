// Needs root (the host setup is for root only). Whether bunc's own thread sets the rootfs up,
// or the Bun init does from inside; and how many proc contexts the native init opens for it.
import { describe, expect, test } from "bun:test";
import { procMounts, whyNotFromHost } from "../../src/runtime/host-setup";
import { defaultSpec } from "../../src/spec/default";

const isRoot = process.geteuid?.() === 0;

describe.skipIf(!isRoot)("whyNotFromHost (root)", () => {
  test("a default container, proc included, is set up from here on any kernel (the init opens proc's context)", () => {
    expect(whyNotFromHost(defaultSpec() as any, { nativeInit: true })).toBeUndefined();
  });
  test("otherwise the Bun init sets up, and --debug says why", () => {
    expect(whyNotFromHost(defaultSpec() as any, { nativeInit: false })).toBe("this build has no native init");
    const joined = defaultSpec() as any;
    joined.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" });
    expect(whyNotFromHost(joined, { nativeInit: true })).toBe("a user namespace given by path");
    const noMount = defaultSpec() as any;
    noMount.linux.namespaces = noMount.linux.namespaces.filter((n: any) => n.type !== "mount");
    expect(whyNotFromHost(noMount, { nativeInit: true })).toBe("no mount namespace of its own");
  });
});

describe("procMounts", () => {
  test("counts the proc mounts made fresh, not binds or remounts", () => {
    const c = defaultSpec() as any;
    expect(procMounts(c)).toBe(1);
    c.mounts.push({ destination: "/proc2", type: "proc", source: "proc" }, { destination: "/p3", type: "proc", source: "/proc", options: ["rbind"] });
    expect(procMounts(c)).toBe(2);
  });
});
