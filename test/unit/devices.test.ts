// /dev nodes through RecordingSyscalls: parent directories made below the pinned rootfs,
// mknod outside a user namespace, a bind of the host's node over an empty file inside one.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDevice } from "../../src/linux/devices";
import { makedev } from "../../src/sys/devnum";
import type { MountContext } from "../../src/linux/mounts";
import { MS } from "../../src/linux/mount-options";
import { O } from "../../src/sys/arch";
import { RecordingSyscalls, type RecordingOptions } from "../support/recording-syscalls";

const dir = mkdtempSync(join(tmpdir(), "bunc-devices-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const uid = process.getuid!(), gid = process.getgid!();

function withRootfs(opts: RecordingOptions, inUserNs: boolean, fn: (ctx: MountContext, sys: RecordingSyscalls, rootfs: string) => void): void {
  const rootfs = join(dir, `root${++n}`);
  mkdirSync(rootfs);
  const sys = new RecordingSyscalls(opts);
  const rootFd = openSync(rootfs, O.PATH | O.DIRECTORY);
  try {
    fn({ sys, rootfs, rootFd, bundle: dir, inUserNs }, sys, rootfs);
  } finally {
    closeSync(rootFd);
  }
}

describe("createDevice", () => {
  test("outside a user namespace: missing parents by mkdirat, then mknod with type, mode and number", () => {
    withRootfs({ mknodPlaceholder: true }, false, (ctx, sys, rootfs) => {
      createDevice(ctx, { type: "b", path: "/dev/disk/sda", major: 8, minor: 0, fileMode: 0o660, uid, gid });
      expect(sys.of("mkdirat").map((c) => c.args.slice(1))).toEqual([["dev", 0o755], ["disk", 0o755]]);
      expect(sys.of("mknod").map((c) => c.args)).toEqual([[join(rootfs, "dev/disk/sda"), 0o060660, makedev(8, 0)]]);
      expect(sys.of("openat")).toEqual([]);
      expect(sys.mounts()).toEqual([]);
      expect(statSync(join(rootfs, "dev/disk/sda")).mode & 0o7777).toBe(0o660);
    });
  });
  test("a node the rootfs already has is kept", () => {
    withRootfs({ mknodPlaceholder: true }, false, (ctx, sys) => {
      const d = { type: "c", path: "/dev/null", major: 1, minor: 3, uid, gid } as const;
      createDevice(ctx, d);
      createDevice(ctx, d);
      expect(sys.of("mknod")).toHaveLength(1);
    });
  });
  test("in a user namespace: an empty file made exclusively, the host's node bound over it", () => {
    withRootfs({}, true, (ctx, sys, rootfs) => {
      createDevice(ctx, { type: "c", path: "/dev/null", major: 1, minor: 3 });
      expect(sys.of("mknod")).toEqual([]);
      expect(sys.of("openat").map((c) => c.args.slice(1))).toEqual([["null", O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0o644]]);
      expect(sys.mounts()).toEqual([["/dev/null", join(rootfs, "dev/null"), null, MS.BIND, null]]);
    });
  });
  test("a parent that cannot be made stops before any node", () => {
    withRootfs({ fail: (c) => (c.op === "mkdirat" ? 13 /* EACCES */ : undefined) }, false, (ctx, sys, rootfs) => {
      expect(() => createDevice(ctx, { type: "c", path: "/dev/null", major: 1, minor: 3 })).toThrow(/EACCES/);
      expect(sys.of("mknod")).toEqual([]);
      expect(existsSync(join(rootfs, "dev"))).toBe(false);
    });
  });
});
