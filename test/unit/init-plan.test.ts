// The Bun init's plan (JSON from bunc over the sync socket) is checked on arrival: a field
// missing or of the wrong type is an error naming it, not a crash somewhere in setup.
import { describe, expect, test } from "bun:test";
import { checkPlan } from "../../src/runtime/init";

const initPlan = {
  id: "c", bundle: "/b", rootfs: "/b/rootfs", config: { process: {} }, noPivot: false, hostPid: 1, preserveFds: 0, keepFds: [],
  ociVersion: "1.3.0", inUserNs: false, cgroupNs: true, extraEnv: [], noNewKeyring: false, lateCgroups: 2,
  newCgroupNs: true, hostCanClone: false, runtimeEnv: [], nativeInit: true,
};
const execPlan = { kind: "exec", process: { args: ["sh"] }, lateCgroups: 0, preserveFds: 0, keepFds: [], state: { id: "c" } };

describe("checkPlan", () => {
  test("well-formed init and exec plans pass, told apart by kind", () => {
    expect(checkPlan(initPlan).kind).toBeUndefined();
    expect(checkPlan(execPlan).kind).toBe("exec");
  });
  test("a missing or mistyped field is named", () => {
    const { hostPid: _, ...noPid } = initPlan;
    expect(() => checkPlan(noPid)).toThrow("plan.hostPid: expected number, got undefined");
    expect(() => checkPlan({ ...initPlan, config: null })).toThrow("plan.config: expected object, got null");
    expect(() => checkPlan({ ...execPlan, lateCgroups: "2" })).toThrow("plan.lateCgroups: expected number, got string");
    expect(() => checkPlan("plan")).toThrow("not an object");
  });
});
