// The request to the native init: one declaration, its encoding, the generated C header,
// the failure record and the fd layout of exec.
import { describe, expect, test } from "bun:test";
import { decodeFailure, describeFailure, encodeRequest, FIELDS, generateHeader, hookList, REQUEST_MAGIC, REQUEST_VERSION, STEPS, stringList } from "../../src/sys/native-request";
import { layoutFds } from "../../src/runtime/exec";
import { processFields } from "../../src/runtime/native-launch";

const names = Object.keys(FIELDS);

function slots(req: Uint8Array) {
  const dv = new DataView(req.buffer, req.byteOffset);
  const n = Number(dv.getBigUint64(16, true));
  const get = (name: string) => dv.getBigUint64(24 + 8 * names.indexOf(name), true);
  return { dv, n, get, blob: req.subarray(24 + 8 * n) };
}

describe("native request", () => {
  test("header: magic, version, field count; numbers in their slots (negative as two's complement)", () => {
    const req = encodeRequest({ MODE: 2, UID: 1000, UMASK: -1 });
    const { dv, n, get } = slots(req);
    expect(dv.getBigUint64(0, true)).toBe(REQUEST_MAGIC);
    expect(Number(dv.getBigUint64(8, true))).toBe(REQUEST_VERSION);
    expect(n).toBe(names.length);
    expect(get("MODE")).toBe(2n);
    expect(get("UID")).toBe(1000n);
    expect(get("UMASK")).toBe((1n << 64n) - 1n);
  });

  test("bytes fields: offset<<32 | length into the blob, strings NUL-terminated, empty string unset", () => {
    const req = encodeRequest({ CWD: "/work", ARGV: stringList(["sh", "-c", "x"]), EXEC_PATH: "" });
    const { get, blob } = slots(req);
    const at = (name: string) => { const v = get(name); return blob.subarray(Number(v >> 32n), Number(v >> 32n) + Number(v & 0xffffffffn)); };
    expect(new TextDecoder().decode(at("CWD"))).toBe("/work\0");
    expect(new TextDecoder().decode(at("ARGV"))).toBe("sh\0-c\0x\0");
    expect(get("EXEC_PATH") & 0xffffffffn).toBe(0n);
    expect(get("BLOB_LEN")).toBe(BigInt(blob.length));
  });

  test("process.apparmorProfile: a NUL-terminated string in APPARMOR_PROFILE, unset when absent or empty", () => {
    const at = (req: Uint8Array) => { const { get, blob } = slots(req); const v = get("APPARMOR_PROFILE"); return new TextDecoder().decode(blob.subarray(Number(v >> 32n), Number(v >> 32n) + Number(v & 0xffffffffn))); };
    const p = { args: ["sh"], cwd: "/", env: [] };
    const fields = (apparmorProfile?: string) => processFields({ process: { ...p, apparmorProfile }, env: [], preserveFds: 0, keepFds: [], setgroupsMayFail: false });
    expect(at(encodeRequest(fields("docker-default")))).toBe("docker-default\0");
    expect(at(encodeRequest(fields("")))).toBe("");
    expect(at(encodeRequest(fields()))).toBe("");
    expect(generateHeader()).toContain("F_APPARMOR_PROFILE");
    expect(generateHeader()).toContain("STEP_APPARMOR");
  });

  test("an AppArmor failure names the profile", () => {
    const f = { step: "APPARMOR" as const, errno: 2, exitCode: 1 };
    expect(describeFailure(f, { apparmorProfile: "bunc-x" })).toBe('process.apparmorProfile: cannot apply AppArmor profile "bunc-x": ENOENT (not loaded)');
    expect(describeFailure({ ...f, errno: 13 }, { apparmorProfile: "bunc-x" })).toBe('process.apparmorProfile: cannot apply AppArmor profile "bunc-x": EACCES');
  });

  test("hooks: timeout, argc, envc, then path, args and env", () => {
    const h = hookList([{ path: "/bin/hook", args: ["hook", "a"], env: ["X=1"], timeout: 5 }]);
    expect([...new Uint32Array(h.buffer.slice(0, 12))]).toEqual([5, 2, 1]);
    expect(new TextDecoder().decode(h.subarray(12))).toBe("/bin/hook\0hook\0a\0X=1\0");
  });

  test("the C header is generated from the same declaration", () => {
    const h = generateHeader();
    expect(h).toContain(`enum { ${names.map((n) => `F_${n}`).join(", ")}, N_FIELDS };`);
    expect(h).toContain(`STEP_${STEPS[0]}, `);
    expect(h).toContain(`#define REQUEST_VERSION ${REQUEST_VERSION}`);
  });

  test("failure records become one line naming the step", () => {
    const rec = new Uint8Array(new Int32Array([0x45524e42, STEPS.indexOf("CAPSET"), 1, 1]).buffer);
    const f = decodeFailure(rec)!;
    expect(f).toEqual({ step: "CAPSET", errno: 1, exitCode: 1 });
    expect(describeFailure(f)).toBe("capset: EPERM");
    const ex = decodeFailure(new Uint8Array(new Int32Array([0x45524e42, STEPS.indexOf("EXECVE"), 2, 127]).buffer))!;
    expect(describeFailure(ex, { program: "nosuch" })).toBe(`exec: "nosuch": executable file not found in $PATH`);
    const hook = decodeFailure(new Uint8Array(new Int32Array([0x45524e42, STEPS.indexOf("HOOK_STATUS"), 3 << 8, 1]).buffer))!;
    expect(describeFailure(hook, { hooks: ["/bin/h"] })).toBe("error running startContainer hook #0: /bin/h: exit status 3");
    // The second hook (index 1 above the wait status), killed by SIGSYS; and a timeout.
    const second = decodeFailure(new Uint8Array(new Int32Array([0x45524e42, STEPS.indexOf("HOOK_STATUS"), (1 << 16) | 31, 1]).buffer))!;
    expect(describeFailure(second, { hooks: ["/bin/true", "/bin/sh"] })).toBe("error running startContainer hook #1: /bin/sh: signal: bad system call (SIGSYS)");
    const late = decodeFailure(new Uint8Array(new Int32Array([0x45524e42, STEPS.indexOf("HOOK_TIMEOUT"), 1 << 16, 1]).buffer))!;
    expect(describeFailure(late, { hooks: ["/bin/true", "/bin/sleep"] })).toBe("error running startContainer hook #1: /bin/sleep: timed out");
    // runc's words (scheduler.bats "scheduler vs cpus") when the cpuset narrows the CPUs.
    const sched = decodeFailure(new Uint8Array(new Int32Array([0x45524e42, STEPS.indexOf("SCHEDULER"), 1, 1]).buffer))!;
    expect(describeFailure(sched, { cpusetCpus: "0" })).toBe(`process.scheduler: sched_setattr: EPERM: process scheduler can't be used together with AllowedCPUs (linux.resources.cpu.cpus "0")`);
    expect(describeFailure(sched)).toBe("process.scheduler: sched_setattr: EPERM");
    expect(decodeFailure(new Uint8Array(8))).toBeUndefined();
  });

  test("exec's fds: after the report fd at `first`, group after group", () => {
    expect(layoutFds(5, { mnt: [9], cgroups: [11, 12], listener: [], request: [0] })).toEqual({ mnt: [6], cgroups: [7, 8], listener: [], request: [9] });
  });
});
