// Mount planning without root, through RecordingSyscalls: mount(8) options, each
// config mount on a tmp rootfs (targets pinned inside it, symlinks never leading out),
// the root's propagation/pivot/--no-pivot sequence, masked and read-only paths, /dev.
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MS, parseMountOptions } from "../../src/linux/mount-options";
import { cgroupDir, hostCgroupMounts, mountOne, remount, type MountContext } from "../../src/linux/mounts";
import { applyRootPropagation, maskPaths, moveRoot, parentMount, pivotRoot, prepareRoot, readonlyPaths, readonlyRoot } from "../../src/linux/rootfs";
import { createDevice, setupDev } from "../../src/linux/devices";
import { makedev } from "../../src/sys/devnum";
import { RecordingSyscalls } from "../support/recording-syscalls";
import { O } from "../../src/sys/arch";

const isRoot = process.geteuid?.() === 0;

describe("parseMountOptions", () => {
  test("flags set and cleared, in order", () => {
    const o = parseMountOptions(["ro", "nosuid", "nodev", "noexec", "relatime"]);
    expect(o.flags).toBe(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
    const p = parseMountOptions(["ro", "rw", "nosuid", "suid"]);
    expect(p.flags).toBe(0n);
    expect(p.cleared).toBe(MS.RDONLY | MS.NOSUID);
  });
  test("bind, rbind and type bind", () => {
    expect(parseMountOptions(["bind"])).toMatchObject({ bind: true, recursive: false });
    expect(parseMountOptions(["rbind"])).toMatchObject({ bind: true, recursive: true, flags: MS.BIND | MS.REC });
    expect(parseMountOptions([], "bind")).toMatchObject({ bind: true, recursive: false });
    expect(parseMountOptions(["nosuid"], "tmpfs").bind).toBe(false);
  });
  test("propagation flags are separate mount calls", () => {
    const o = parseMountOptions(["rbind", "rprivate", "shared", "slave", "runbindable"]);
    expect(o.propagation).toEqual([MS.PRIVATE | MS.REC, MS.SHARED, MS.SLAVE, MS.UNBINDABLE | MS.REC]);
    expect(o.flags & (MS.PRIVATE | MS.SHARED | MS.SLAVE)).toBe(0n);
  });
  test("filesystem data is passed through; fstab-only options are ignored", () => {
    const o = parseMountOptions(["size=65536k", "mode=755", "defaults", "nofail", "_netdev", "newinstance"]);
    expect(o.data).toEqual(["size=65536k", "mode=755", "newinstance"]);
    expect(o.flags).toBe(0n);
  });
  test("idmap and ridmap are not mount(2) data (the tree is made on the host)", () => {
    expect(parseMountOptions(["rbind", "idmap"]).data).toEqual([]);
    expect(parseMountOptions(["rbind", "ridmap"]).data).toEqual([]);
  });
});

const dir = mkdtempSync(join(tmpdir(), "bunc-mounts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A fresh rootfs with /etc, a symlink out of it and a symlink to /proc. */
function context(opts: ConstructorParameters<typeof RecordingSyscalls>[0] = {}, inUserNs = false) {
  const rootfs = join(dir, `root${++n}`);
  const hostdir = join(dir, `hostdir${n}`);
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  mkdirSync(hostdir);
  writeFileSync(join(rootfs, "etc/hosts"), "");
  symlinkSync(hostdir, join(rootfs, "evil"));
  symlinkSync("/etc", join(rootfs, "linkdir"));
  symlinkSync("/evil", join(rootfs, "proclink"));
  const sys = new RecordingSyscalls(opts);
  const rootFd = openSync(rootfs, O.PATH | O.DIRECTORY);
  const ctx: MountContext = { sys, rootfs, rootFd, bundle: join(dir, "bundle"), inUserNs };
  return { ctx, sys, rootfs, hostdir, done: () => closeSync(rootFd) };
}

describe("mountOne", () => {
  test("tmpfs with flags and data on a new directory", () => {
    const { ctx, sys, rootfs, done } = context();
    mountOne(ctx, { destination: "/run/x", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "size=1m", "mode=700"] });
    expect(statSync(join(rootfs, "run/x")).isDirectory()).toBe(true);
    expect(sys.mounts()).toEqual([["tmpfs", join(rootfs, "run/x"), "tmpfs", MS.NOSUID | MS.NOEXEC, "size=1m,mode=700"]]);
    done();
  });
  test("an existing mount point is found by the kernel's walk in one call, then pinned", () => {
    const { ctx, sys, rootfs, done } = context();
    mkdirSync(join(rootfs, "srv/a/b"), { recursive: true });
    mountOne(ctx, { destination: "/srv/a/b", type: "tmpfs", source: "tmpfs" });
    expect(sys.of("openInRoot").map((c) => c.args[1])).toEqual(["srv/a/b", "srv/a/b"]);
    expect(sys.of("mkdirat")).toEqual([]);
    expect(sys.mounts()).toEqual([["tmpfs", join(rootfs, "srv/a/b"), "tmpfs", 0n, "mode=0755"]]);
    done();
  });
  test("a missing last level below an existing directory is made there directly (the cgroup hierarchies)", () => {
    const { ctx, sys, rootfs, done } = context();
    mkdirSync(join(rootfs, "sys/fs/cgroup"), { recursive: true });
    mountOne(ctx, { destination: "/sys/fs/cgroup/cpu", type: "tmpfs", source: "tmpfs" });
    expect(sys.of("openInRoot").map((c) => c.args[1])).toEqual(["sys/fs/cgroup/cpu", "sys/fs/cgroup", "sys/fs/cgroup/cpu"]);
    expect(sys.of("mkdirat").map((c) => c.args[1])).toEqual(["cpu"]);
    expect(sys.mounts()).toEqual([["tmpfs", join(rootfs, "sys/fs/cgroup/cpu"), "tmpfs", 0n, "mode=0755"]]);
    done();
  });
  test("a dangling symlink as the last level is followed inside the rootfs, not replaced", () => {
    const { ctx, sys, rootfs, done } = context();
    symlinkSync("/var/lib/dangling", join(rootfs, "dangling"));
    mountOne(ctx, { destination: "/dangling", type: "tmpfs", source: "tmpfs" });
    expect(lstatSync(join(rootfs, "dangling")).isSymbolicLink()).toBe(true);
    expect(statSync(join(rootfs, "var/lib/dangling")).isDirectory()).toBe(true);
    expect(sys.mounts()[0]![1]).toBe(join(rootfs, "var/lib/dangling"));
    done();
  });
  test("a relative destination is taken from the root", () => {
    const { ctx, sys, rootfs, done } = context();
    mountOne(ctx, { destination: "data", type: "tmpfs", source: "tmpfs" });
    expect(sys.mounts()[0]![1]).toBe(join(rootfs, "data"));
    done();
  });
  test("read-only bind of a directory: bind, then remount with the flags", () => {
    const { ctx, sys, rootfs, done } = context();
    const src = join(dir, "src-dir");
    mkdirSync(src, { recursive: true });
    mountOne(ctx, { destination: "/mnt/ro", type: "bind", source: src, options: ["rbind", "ro", "nosuid", "rprivate"] });
    const t = join(rootfs, "mnt/ro");
    expect(sys.mounts()).toEqual([
      [src, t, null, MS.BIND | MS.REC, null],
      [null, t, null, MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID, null],
      [null, t, null, MS.PRIVATE | MS.REC, null],
    ]);
    done();
  });
  test("a bind of a file creates a file mount point; a relative source is in the bundle", () => {
    const { ctx, sys, rootfs, done } = context();
    mkdirSync(ctx.bundle, { recursive: true });
    writeFileSync(join(ctx.bundle, "resolv.conf"), "nameserver 1.1.1.1\n");
    mountOne(ctx, { destination: "/etc/resolv.conf", source: "resolv.conf", options: ["bind"] });
    expect(lstatSync(join(rootfs, "etc/resolv.conf")).isFile()).toBe(true);
    expect(sys.mounts()).toEqual([[join(ctx.bundle, "resolv.conf"), join(rootfs, "etc/resolv.conf"), null, MS.BIND, null]]);
    done();
  });
  test("a missing bind source is an error naming it", () => {
    const { ctx, done } = context();
    expect(() => mountOne(ctx, { destination: "/x", source: "/nonexistent-src", options: ["bind"] })).toThrow(/bind source \/nonexistent-src: ENOENT/);
    done();
  });
  test("a destination through a symlink to a host directory stays in the rootfs", () => {
    const { ctx, sys, rootfs, hostdir, done } = context();
    mountOne(ctx, { destination: "/evil/sub", type: "tmpfs", source: "tmpfs" });
    mountOne(ctx, { destination: "/linkdir/sub", type: "tmpfs", source: "tmpfs" });
    const [a, b] = sys.mounts();
    expect(a![1]).toBe(join(rootfs, hostdir, "sub"));
    expect(b![1]).toBe(join(rootfs, "etc/sub"));
    expect(readdirSync(hostdir)).toEqual([]);
    done();
  });
  test("proc or sysfs over a symlink is refused", () => {
    const { ctx, sys, done } = context();
    // runc's words (mounts.bats "/proc is a symlink"), and what it is.
    expect(() => mountOne(ctx, { destination: "/proclink", type: "proc", source: "proc" })).toThrow("mount /proclink: proc must be mounted on ordinary directory, not a symlink in the rootfs");
    expect(() => mountOne(ctx, { destination: "/linkdir/x", type: "sysfs", source: "sysfs" })).toThrow(/symlink/);
    expect(sys.mounts()).toEqual([]);
    done();
  });
  test("propagation options of a non-bind mount follow it", () => {
    const { ctx, sys, rootfs, done } = context();
    mountOne(ctx, { destination: "/shared", type: "tmpfs", source: "tmpfs", options: ["rshared"] });
    expect(sys.mounts()).toEqual([
      ["tmpfs", join(rootfs, "shared"), "tmpfs", 0n, "mode=0755"],
      [null, join(rootfs, "shared"), null, MS.SHARED | MS.REC, null],
    ]);
    done();
  });
  test("in a user namespace, an EPERM sysfs falls back to a bind of the host's", () => {
    const { ctx, sys, rootfs, done } = context({ fail: (c) => (c.op === "mount" && c.args[2] === "sysfs" ? 1 : undefined) }, true);
    mountOne(ctx, { destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro", "nosuid"] });
    const t = join(rootfs, "sys");
    expect(sys.mounts()).toEqual([
      ["sysfs", t, "sysfs", MS.RDONLY | MS.NOSUID, null],
      ["/sys", t, null, MS.BIND | MS.REC, null],
      [null, t, null, MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID, null],
    ]);
    done();
  });
  test("remount keeps locked flags when the plain remount is EPERM", () => {
    const sys = new RecordingSyscalls({
      fail: (c) => (c.op === "mount" && c.args[3] === (MS.REMOUNT | MS.BIND | MS.RDONLY) ? 1 : undefined),
      mountFlags: () => MS.NOSUID | MS.NODEV | MS.RELATIME,
    });
    remount(sys, "/x", MS.RDONLY);
    expect(sys.mounts().map((m) => m[3])).toEqual([MS.REMOUNT | MS.BIND | MS.RDONLY, MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.RELATIME]);
  });
  test("remount: a locked flag asked to be cleared, or other atime flags, is an error naming them (runc 1.3)", () => {
    const locked = (flags: bigint) => new RecordingSyscalls({ fail: (c) => (c.op === "mount" && c.args[3] & MS.REMOUNT ? 1 : undefined), mountFlags: () => flags });
    expect(() => remount(locked(MS.RDONLY | MS.NOSUID | MS.RELATIME), "/x", MS.NODEV, MS.RDONLY | MS.NOEXEC)).toThrow("cannot clear the source mount's locked flags (ro) in a user namespace");
    expect(() => remount(locked(MS.RELATIME), "/x", MS.NOATIME)).toThrow("locked atime flags (relatime) to noatime");
    expect(() => remount(locked(0n), "/x", MS.RELATIME)).toThrow("locked atime flags (strictatime) to relatime"); // statvfs: neither noatime nor relatime
    // The same atime as the source's is kept, and the retry carries the locked flags.
    const same = locked(MS.NOATIME | MS.NODEV);
    expect(() => remount(same, "/x", MS.NOATIME | MS.RDONLY)).toThrow("mount /x: EPERM");
    expect(same.mounts().map((m) => m[3])).toEqual([MS.REMOUNT | MS.BIND | MS.NOATIME | MS.RDONLY, MS.REMOUNT | MS.BIND | MS.NOATIME | MS.RDONLY | MS.NODEV]);
  });
});

const PRIVATE_INFO = "64 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n";
const SHARED_INFO = [
  "64 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
  "70 64 0:30 / /var/lib rw,relatime - tmpfs tmpfs rw",
  "71 64 0:31 / /var/lib rw,relatime shared:7 master:2 - tmpfs tmpfs rw",
  "72 64 0:32 / /my\\040dir rw,relatime - tmpfs tmpfs rw",
].join("\n");

describe("the root", () => {
  test("prepareRoot: rslave by default, then the rootfs bound on itself and made private", () => {
    const sys = new RecordingSyscalls();
    prepareRoot(sys, "/b/rootfs", undefined, () => PRIVATE_INFO);
    expect(sys.mounts()).toEqual([
      [null, "/", null, MS.SLAVE | MS.REC, null],
      ["/b/rootfs", "/b/rootfs", null, MS.BIND | MS.REC, null],
      [null, "/b/rootfs", null, MS.PRIVATE, null],
    ]);
  });
  test("prepareRoot with a shared rootfsPropagation: the rootfs's parent mount is made private (pivot_root needs it)", () => {
    const sys = new RecordingSyscalls();
    prepareRoot(sys, "/var/lib/c/rootfs", "rshared", () => SHARED_INFO);
    expect(sys.mounts()).toEqual([
      [null, "/", null, MS.SHARED | MS.REC, null],
      [null, "/var/lib", null, MS.PRIVATE, null],
      ["/var/lib/c/rootfs", "/var/lib/c/rootfs", null, MS.BIND | MS.REC, null],
      [null, "/var/lib/c/rootfs", null, MS.PRIVATE, null],
    ]);
  });
  test("parentMount: the longest, topmost mount point above a path", () => {
    expect(parentMount("/var/lib/c/rootfs", SHARED_INFO)).toEqual({ mountpoint: "/var/lib", shared: true });
    expect(parentMount("/var/libx", SHARED_INFO)).toEqual({ mountpoint: "/", shared: true });
    expect(parentMount("/my dir/x", SHARED_INFO)).toEqual({ mountpoint: "/my dir", shared: false });
    expect(parentMount("/b/rootfs", PRIVATE_INFO)).toEqual({ mountpoint: "/", shared: false });
  });
  test("pivotRoot: pivot_root(., .), then the old root detached", () => {
    const sys = new RecordingSyscalls();
    pivotRoot(sys, "/r");
    expect(sys.calls.filter((c) => c.op !== "close").map((c) => [c.op, ...c.args])).toEqual([
      ["chdir", "/r"],
      ["pivotRoot", ".", "."],
      ["fchdir", expect.any(Number)],
      ["mount", null, ".", null, MS.SLAVE | MS.REC, null],
      ["umount2", ".", 2],
      ["chdir", "/"],
    ]);
  });
  test("--no-pivot: MS_MOVE over / and chroot", () => {
    const sys = new RecordingSyscalls();
    moveRoot(sys, "/r", "27 1 8:1 / / rw - ext4 /dev/vda rw");
    expect(sys.calls.map((c) => [c.op, ...c.args])).toEqual([
      ["chdir", "/r"], ["mount", "/r", "/", null, MS.MOVE, null], ["chroot", "."], ["chdir", "/"],
    ]);
  });
  test("rootfsPropagation is applied to the new / after the pivot; readonly root remounts /", () => {
    const sys = new RecordingSyscalls();
    applyRootPropagation(sys, undefined);
    expect(sys.calls).toEqual([]);
    applyRootPropagation(sys, "private");
    readonlyRoot(sys);
    expect(sys.mounts()).toEqual([[null, "/", null, MS.PRIVATE, null], [null, "/", null, MS.REMOUNT | MS.BIND | MS.RDONLY, null]]);
  });
  test("maskedPaths: empty read-only tmpfs on directories, /dev/null on files, absent ones skipped", () => {
    // The container's "/" is the host's here: mask real host paths (nothing is mounted).
    const sys = new RecordingSyscalls();
    maskPaths(sys, ["/etc", "/etc/hostname", "/nonexistent/bunc"]);
    // Files get the container's /dev/null, pinned inside its root like the target.
    expect(sys.of("openInRoot").map((c) => c.args[1])).toEqual(["etc", "etc/hostname", "dev/null", "nonexistent/bunc"]);
    expect(sys.mounts()).toEqual([
      ["tmpfs", "/etc", "tmpfs", MS.RDONLY, "size=0"],
      [expect.stringMatching(/^\/proc\/self\/fd\/\d+$/), "/etc/hostname", null, MS.BIND, null],
    ]);
  });
  test("readonlyPaths: bind on itself, then remount ro,nosuid,nodev,noexec", () => {
    const sys = new RecordingSyscalls();
    readonlyPaths(sys, ["/etc", "/nonexistent/bunc"]);
    expect(sys.mounts()[0]![0]).toMatch(/^\/proc\/self\/fd\/\d+$/); // the pinned path onto itself
    expect(sys.mounts()).toEqual([
      [sys.mounts()[0]![0], "/etc", null, MS.BIND | MS.REC, null],
      [null, "/etc", null, MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, null],
    ]);
  });
});

describe("/dev", () => {
  test("makedev encodes like glibc", () => {
    expect(makedev(1, 3)).toBe(0x103n);
    expect(makedev(136, 0)).toBe(0x8800n);
    expect(makedev(259, 65536)).toBe(0x10010300n);
    expect(makedev(0x1001, 0x1_0002)).toBe((0x1000n << 32n) | 0x100n | (0x10000n << 12n) | 0x2n);
    expect(makedev(1, 3)).toBe(statSync("/dev/null", { bigint: true }).rdev);
  });
  test("in a user namespace: host nodes bound over empty files; symlinks; pts and shm", () => {
    const { ctx, sys, rootfs, done } = context({}, true);
    setupDev(ctx, []);
    const binds = sys.mounts().map(([s, t, , f]) => [s, t, f]);
    for (const d of ["null", "zero", "full", "random", "urandom", "tty"]) {
      expect(binds).toContainEqual([`/dev/${d}`, join(rootfs, "dev", d), MS.BIND]);
      expect(lstatSync(join(rootfs, "dev", d)).isFile()).toBe(true);
    }
    expect(sys.of("mknodat")).toEqual([]);
    expect(readlinkSync(join(rootfs, "dev/ptmx"))).toBe("pts/ptmx");
    expect(readlinkSync(join(rootfs, "dev/fd"))).toBe("/proc/self/fd");
    expect(readlinkSync(join(rootfs, "dev/stdin"))).toBe("/proc/self/fd/0");
    expect(readlinkSync(join(rootfs, "dev/stdout"))).toBe("/proc/self/fd/1");
    expect(readlinkSync(join(rootfs, "dev/stderr"))).toBe("/proc/self/fd/2");
    expect(statSync(join(rootfs, "dev/pts")).isDirectory()).toBe(true);
    expect(statSync(join(rootfs, "dev/shm")).isDirectory()).toBe(true);
    done();
  });
  test("linux.devices: mknod with type, mode and number, then the mode and owner", () => {
    const { ctx, sys, rootfs, done } = context({ mknodPlaceholder: true });
    const uid = process.getuid!(), gid = process.getgid!();
    createDevice(ctx, { type: "c", path: "/dev/mynull", major: 1, minor: 3, fileMode: 0o640, uid, gid });
    createDevice(ctx, { type: "p", path: "/dev/sub/fifo", fileMode: 0o600, uid, gid });
    expect(sys.of("mknodat").map((c) => c.args)).toEqual([
      [join(rootfs, "dev/mynull"), 0o020640, 0x103n],
      [join(rootfs, "dev/sub/fifo"), 0o010600, 0n],
    ]);
    expect(statSync(join(rootfs, "dev/mynull")).mode & 0o7777).toBe(0o640);
    done();
  });
  test("a device path through a symlink stays in the rootfs; a directory there is an error", () => {
    const { ctx, sys, rootfs, hostdir, done } = context({ mknodPlaceholder: true });
    const uid = process.getuid!(), gid = process.getgid!();
    createDevice(ctx, { type: "c", path: "/evil/null", major: 1, minor: 3, uid, gid });
    expect(sys.of("mknodat")[0]!.args[0]).toBe(join(rootfs, hostdir, "null"));
    expect(existsSync(join(hostdir, "null"))).toBe(false);
    expect(() => createDevice(ctx, { type: "c", path: "/etc", major: 1, minor: 3 })).toThrow(/not a device/);
    done();
  });
  test.skipIf(!isRoot)("default nodes by mknod outside a user namespace (root: chown to 0)", () => {
    const { ctx, sys, rootfs, done } = context({ mknodPlaceholder: true });
    setupDev(ctx, [{ type: "c", path: "/dev/mynull", major: 1, minor: 3, fileMode: 0o600, uid: 1, gid: 2 }]);
    const nodes = sys.of("mknodat").map((c) => [c.args[0], c.args[2]]);
    expect(nodes).toEqual([
      [join(rootfs, "dev/null"), makedev(1, 3)], [join(rootfs, "dev/zero"), makedev(1, 5)], [join(rootfs, "dev/full"), makedev(1, 7)],
      [join(rootfs, "dev/random"), makedev(1, 8)], [join(rootfs, "dev/urandom"), makedev(1, 9)], [join(rootfs, "dev/tty"), makedev(5, 0)],
      [join(rootfs, "dev/mynull"), makedev(1, 3)],
    ]);
    expect(statSync(join(rootfs, "dev/mynull"))).toMatchObject({ uid: 1, gid: 2 });
    done();
  });
});

describe("--no-pivot hides the host's proc and sysfs (as runc)", () => {
  const { moveRoot } = require("../../src/linux/rootfs") as typeof import("../../src/linux/rootfs");
  const mountinfo = [
    "22 27 0:21 / /proc rw,relatime - proc proc rw",
    "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw",
    "24 23 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro",
    "25 22 0:24 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw",
    "27 1 8:1 / / rw - ext4 /dev/vda rw",
    "40 27 0:30 / /b/rootfs/proc rw - proc proc rw",
    "41 27 0:31 / /b/rootfs/sys rw - sysfs sysfs rw",
  ].join("\n");

  test("every proc and sysfs mount outside the rootfs is made slave and detached before MS_MOVE", () => {
    const sys = new RecordingSyscalls();
    moveRoot(sys, "/b/rootfs", mountinfo);
    const ops = sys.calls.map((c) => `${c.op} ${JSON.stringify(c.args.slice(0, 2))}`);
    const detached = sys.calls.filter((c) => c.op === "umount2").map((c) => c.args[0]);
    expect(detached).toEqual(["/sys", "/proc"]);
    const move = ops.findIndex((o) => o.startsWith("mount") && o.includes("/b/rootfs"));
    expect(ops.findIndex((o) => o.startsWith("umount2"))).toBeLessThan(move);
  });
});

describe("cgroupDir: the host directory a `type: cgroup` mount binds", () => {
  // Inside an outer container on cgroup v1 without a cgroup namespace (docker's and podman's
  // default there): each hierarchy's mount shows the outer's cgroup, /proc/self/cgroup names
  // it from the hierarchy's root.
  const info = [
    "700 690 0:30 / /sys/fs/cgroup rw,nosuid shared:9 - tmpfs tmpfs rw",
    "701 700 0:31 /libpod_parent/abc /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids",
    "702 700 0:32 /libpod_parent/abc /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct",
    "703 700 0:33 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw",
  ].join("\n");
  const [pids, cpu, unified] = hostCgroupMounts(info);

  test("the container's own cgroup, when it has one", () => {
    expect(cgroupDir(pids!, { pids: "/sys/fs/cgroup/pids/x/y" }, {})).toBe("/sys/fs/cgroup/pids/x/y");
  });

  test("without one (rootless): bunc's own, under the mount's root", () => {
    expect(pids!.root).toBe("/libpod_parent/abc");
    expect(cgroupDir(pids!, {}, { pids: "/libpod_parent/abc" })).toBe("/sys/fs/cgroup/pids");
    expect(cgroupDir(cpu!, {}, { cpu: "/libpod_parent/abc/sub", cpuacct: "/libpod_parent/abc/sub" })).toBe("/sys/fs/cgroup/cpu,cpuacct/sub");
    expect(cgroupDir(unified!, {}, { "": "/user.slice/u" })).toBe("/sys/fs/cgroup/unified/user.slice/u");
    // Not under what the mount shows: what it shows, not a path that is not there.
    expect(cgroupDir(pids!, {}, { pids: "/elsewhere" })).toBe("/sys/fs/cgroup/pids");
    expect(cgroupDir(pids!, {}, { pids: "/libpod_parent/abcd" })).toBe("/sys/fs/cgroup/pids");
  });
});
