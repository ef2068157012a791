// setnsMount: a thread Bun starts between unshare(CLONE_FS) and setns(CLONE_NEWNS) shares the
// fs struct again and the kernel answers EINVAL; the unshare is renewed and the join retried,
// a bounded number of times. (The Bun init's exec failed this way once node:fs was gone.)
import { expect, test } from "bun:test";
import { setnsMount } from "../../src/linux/namespaces";
import { RecordingSyscalls } from "../support/recording-syscalls";

const CLONE_FS = 0x200, CLONE_NEWNS = 0x00020000, EINVAL = 22, EPERM = 1;

test("EINVAL once: unshare again, then the join succeeds", () => {
  let setnsCalls = 0;
  const sys = new RecordingSyscalls({ fail: (c) => (c.op === "setns" && ++setnsCalls === 1 ? EINVAL : undefined) });
  setnsMount(7, sys);
  expect(sys.calls.map((c) => [c.op, ...c.args])).toEqual([["unshare", CLONE_FS], ["setns", 7, CLONE_NEWNS], ["unshare", CLONE_FS], ["setns", 7, CLONE_NEWNS]]);
});

test("EINVAL every time: four tries, then the error; other errors at once", () => {
  const always = new RecordingSyscalls({ fail: (c) => (c.op === "setns" ? EINVAL : undefined) });
  expect(() => setnsMount(7, always)).toThrow(/setns.*EINVAL/);
  expect(always.of("setns").length).toBe(4);
  const denied = new RecordingSyscalls({ fail: (c) => (c.op === "setns" ? EPERM : undefined) });
  expect(() => setnsMount(7, denied)).toThrow(/EPERM/);
  expect(denied.of("setns").length).toBe(1);
});
