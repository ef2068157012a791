// /dev nodes through RecordingSyscalls: parent directories made below the pinned rootfs,
// mknod outside a user namespace, a bind of the host's node over an empty file inside one.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
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
      expect(sys.of("mknodat").map((c) => c.args)).toEqual([[join(rootfs, "dev/disk/sda"), 0o060660, makedev(8, 0)]]);
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
      expect(sys.of("mknodat")).toHaveLength(1);
    });
  });
  test("in a user namespace: an empty file made exclusively, the host's node bound over it", () => {
    withRootfs({}, true, (ctx, sys, rootfs) => {
      createDevice(ctx, { type: "c", path: "/dev/null", major: 1, minor: 3 });
      expect(sys.of("mknodat")).toEqual([]);
      expect(sys.of("openat").map((c) => c.args.slice(1))).toEqual([["null", O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0o644]]);
      expect(sys.mounts()).toEqual([["/dev/null", join(rootfs, "dev/null"), null, MS.BIND, null]]);
    });
  });
  // The node is made in its parent opened in the root (mknodat), not at a host path: a parent
  // swapped for a symlink to a host directory after bunc made it (a racing writer of a rootfs
  // without a /dev mount) cannot make bunc create a node there. Before, mknod by path did.
  test("a parent swapped for a symlink after it was made does not lead the node out", () => {
    const host = join(dir, `host${n + 1}`);
    mkdirSync(host);
    let armed = false;
    let swapped = false;
    const swap = (rootfs: string) => {
      renameSync(join(rootfs, "dev/disk"), join(rootfs, "dev/disk.orig"));
      symlinkSync(host, join(rootfs, "dev/disk"));
      swapped = true;
    };
    let root = "";
    withRootfs({
      mknodPlaceholder: true,
      fail: (c) => {
        if (armed) { armed = false; swap(root); }
        if (c.op === "mkdirat" && c.args[1] === "disk") armed = true;
        return undefined;
      },
    }, false, (ctx, sys, rootfs) => {
      root = rootfs;
      try {
        createDevice(ctx, { type: "b", path: "/dev/disk/sda", major: 8, minor: 0, fileMode: 0o660, uid, gid });
      } catch {} // (the swapped parent may also be refused: resolved inside the rootfs it is not there)
      expect(swapped).toBe(true);
      expect(existsSync(join(host, "sda"))).toBe(false);
    });
  });
  test("a parent that cannot be made stops before any node", () => {
    withRootfs({ fail: (c) => (c.op === "mkdirat" ? 13 /* EACCES */ : undefined) }, false, (ctx, sys, rootfs) => {
      expect(() => createDevice(ctx, { type: "c", path: "/dev/null", major: 1, minor: 3 })).toThrow(/EACCES/);
      expect(sys.of("mknodat")).toEqual([]);
      expect(existsSync(join(rootfs, "dev"))).toBe(false);
    });
  });
});
