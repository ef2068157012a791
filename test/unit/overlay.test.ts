// The one-shot's scratch overlay: volatile (no filesystem sync at its unmount) where the kernel
// knows the option, the plain mount before Linux 5.10, and any other failure as it is.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RecordingSyscalls } from "../support/recording-syscalls";
import { mountScratchOverlay, overlayDirs } from "../../src/image/view";

const EINVAL = 22, EPERM = 1;
let scratch = "";
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe("mountScratchOverlay", () => {
  test("mounts volatile, and unmounts detached", () => {
    scratch = mkdtempSync(join(tmpdir(), "bunc-overlay-"));
    const sys = new RecordingSyscalls();
    const d = overlayDirs(scratch);
    const undo = mountScratchOverlay(sys, "/l2:/l1", d);
    expect(sys.mounts()).toEqual([["overlay", d.merged, "overlay", 0n, `lowerdir=/l2:/l1,upperdir=${d.upper},workdir=${d.work},volatile`]]);
    undo();
    expect(sys.of("umount2").map((c) => c.args)).toEqual([[d.merged, 2]]);
  });

  test("a kernel without volatile (EINVAL) gets the plain overlay", () => {
    scratch = mkdtempSync(join(tmpdir(), "bunc-overlay-"));
    const sys = new RecordingSyscalls({ fail: (c) => (c.op === "mount" && String(c.args[4]).endsWith(",volatile") ? EINVAL : undefined) });
    const d = overlayDirs(scratch);
    mountScratchOverlay(sys, "/l", d);
    expect(sys.mounts().map((m) => m[4])).toEqual([`lowerdir=/l,upperdir=${d.upper},workdir=${d.work},volatile`, `lowerdir=/l,upperdir=${d.upper},workdir=${d.work}`]);
  });

  test("another failure is not retried", () => {
    scratch = mkdtempSync(join(tmpdir(), "bunc-overlay-"));
    const sys = new RecordingSyscalls({ fail: (c) => (c.op === "mount" ? EPERM : undefined) });
    expect(() => mountScratchOverlay(sys, "/l", overlayDirs(scratch))).toThrow(/mount .*merged: EPERM/);
    expect(sys.of("mount")).toHaveLength(1);
  });
});
