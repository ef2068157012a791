// Capabilities through RecordingSyscalls: names to masks, the bounding set dropped to what
// the config keeps, capset of the three thread sets, the ambient set raised as runc does.
import { describe, expect, test } from "bun:test";
import { CAPABILITIES, capMask, capNames, dropBounding, grantable, setAmbient, setCaps } from "../../src/linux/capabilities";
import { PR, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAP_AMBIENT_RAISE } from "../../src/sys/syscalls";
import { SyscallError } from "../../src/sys/libc";
import { RecordingSyscalls } from "../support/recording-syscalls";

const bit = (c: number) => 1n << BigInt(c);
const CAP_CHOWN = 0, CAP_KILL = 5, CAP_SYS_ADMIN = 21;

describe("capMask and capNames", () => {
  test("names (any case) to bits; unknown and too new names are warned about", () => {
    const warnings: string[] = [];
    const mask = capMask(["CAP_CHOWN", "cap_kill", "CAP_FOO", "CAP_CHECKPOINT_RESTORE"], (m) => warnings.push(m), 39);
    expect(mask).toBe(bit(CAP_CHOWN) | bit(CAP_KILL));
    expect(warnings).toEqual(['unknown capability "CAP_FOO" ignored', 'unknown capability "CAP_CHECKPOINT_RESTORE" ignored']);
    expect(capNames(mask)).toEqual(["CAP_CHOWN", "CAP_KILL"]);
  });
  test("grantable: every set limited to the host's bounding set", () => {
    const all = bit(CAP_CHOWN) | bit(CAP_SYS_ADMIN);
    const s = grantable({ bounding: all, effective: all, permitted: all, inheritable: all, ambient: all }, bit(CAP_CHOWN));
    expect(Object.values(s)).toEqual(Array(5).fill(bit(CAP_CHOWN)));
  });
});

describe("dropBounding", () => {
  test("drops exactly the capabilities up to the last one that the mask lacks, naming each", () => {
    const sys = new RecordingSyscalls();
    dropBounding(bit(1) | bit(3), sys, 4);
    expect(sys.calls.map((c) => c.args)).toEqual([[PR.CAPBSET_DROP, [0]], [PR.CAPBSET_DROP, [2]], [PR.CAPBSET_DROP, [4]]]);
  });
  test("EINVAL (a capability this kernel does not know) is skipped; EPERM is an error naming the capability", () => {
    const unknown = new RecordingSyscalls({ fail: (c) => ((c.args[1] as number[])[0] === 2 ? 22 : undefined) });
    dropBounding(0n, unknown, 3);
    expect(unknown.calls).toHaveLength(4);
    const refused = new RecordingSyscalls({ fail: (c) => ((c.args[1] as number[])[0] === 2 ? 1 : undefined) });
    let err: unknown;
    try {
      dropBounding(0n, refused, 3);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).path).toBe(CAPABILITIES[2]);
    expect(refused.calls).toHaveLength(3);
  });
});

describe("setCaps and setAmbient", () => {
  test("capset gets effective, permitted and inheritable (bounding and ambient are not its)", () => {
    const sys = new RecordingSyscalls();
    setCaps({ bounding: 1n, effective: bit(40), permitted: bit(40) | 1n, inheritable: 0n, ambient: 1n }, sys);
    expect(sys.calls.map((c) => [c.op, ...c.args])).toEqual([["capset", { effective: bit(40), permitted: bit(40) | 1n, inheritable: 0n }]]);
  });
  test("the ambient set is cleared, then raised only where permitted and inheritable allow", () => {
    const sys = new RecordingSyscalls();
    setAmbient(bit(CAP_CHOWN) | bit(CAP_KILL) | bit(40), bit(CAP_CHOWN) | bit(CAP_KILL) | bit(40), bit(CAP_KILL) | bit(40), sys);
    expect(sys.calls.map((c) => c.args)).toEqual([
      [PR.CAP_AMBIENT, [PR_CAP_AMBIENT_CLEAR_ALL]],
      [PR.CAP_AMBIENT, [PR_CAP_AMBIENT_RAISE, CAP_KILL]],
      [PR.CAP_AMBIENT, [PR_CAP_AMBIENT_RAISE, 40]],
    ]);
  });
  test("a refused raise is an error naming the capability", () => {
    const sys = new RecordingSyscalls({ fail: (c) => ((c.args[1] as number[])[0] === PR_CAP_AMBIENT_RAISE ? 1 : undefined) });
    expect(() => setAmbient(bit(CAP_KILL), undefined, undefined, sys)).toThrow(/CAP_KILL: EPERM/);
  });
});
