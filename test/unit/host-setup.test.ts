// Needs root (the host setup is for root only). Whether bunc's own thread sets the rootfs up,
// or the Bun init does from inside; and how many proc contexts the native init opens for it.
import { describe, expect, test } from "bun:test";
import { canSetUpFromHost, procMounts } from "../../src/runtime/host-setup";
import { defaultSpec } from "../../src/spec/default";

const isRoot = process.geteuid?.() === 0;

describe.skipIf(!isRoot)("canSetUpFromHost (root)", () => {
  test("a default container, proc included, is set up from here on any kernel (the init opens proc's context)", () => {
    expect(canSetUpFromHost(defaultSpec() as any, { nativeInit: true })).toBe(true);
  });
  test("without the native init, or when told not to, the Bun init sets up", () => {
    expect(canSetUpFromHost(defaultSpec() as any, { nativeInit: false })).toBe(false);
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
