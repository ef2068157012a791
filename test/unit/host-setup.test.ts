// Needs root (the host setup is for root only). Whether bunc's own thread sets the rootfs up,
// or the Bun init does from inside: the kernel must let proc take the container's PID
// namespace from fsconfig (Linux 6.15+), else the Bun init mounts proc itself.
import { describe, expect, test } from "bun:test";
import { canSetUpFromHost, procTakesPidns } from "../../src/runtime/host-setup";
import { defaultSpec } from "../../src/spec/default";

const isRoot = process.geteuid?.() === 0;

describe.skipIf(!isRoot)("canSetUpFromHost (root)", () => {
  test("a default container is set up from here where proc takes a pidns", () => {
    expect(canSetUpFromHost(defaultSpec() as any, { nativeInit: true, procTakesPidns: () => true })).toBe(true);
  });
  test("an older kernel's proc (no pidns parameter): the Bun init sets up", () => {
    expect(canSetUpFromHost(defaultSpec() as any, { nativeInit: true, procTakesPidns: () => false })).toBe(false);
    const noProc = defaultSpec() as any;
    noProc.mounts = noProc.mounts.filter((m: any) => m.type !== "proc");
    expect(canSetUpFromHost(noProc, { nativeInit: true, procTakesPidns: () => false })).toBe(true);
  });
  test("this kernel is probed once (6.18, this machine's, takes pidns)", () => {
    const [major, minor] = require("node:os").release().split(".").map(Number);
    const first = procTakesPidns();
    expect(procTakesPidns()).toBe(first);
    if (major > 6 || (major === 6 && minor >= 18)) expect(first).toBe(true);
  });
});
