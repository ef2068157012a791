// Path resolution inside a rootfs: symlinks are followed as if the rootfs were "/",
// never out of it; ".." stops at the root; loops are ELOOP. Against a fake PathFs and
// a real tmpdir (no root needed), plus the kernel-enforced openInRoot.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync, closeSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdirAllInRoot, resolveInRoot, resolveRelative, touchInRoot, type PathFs } from "../../src/linux/path";
import { openInRoot, RESOLVE_NO_SYMLINKS, tryOpenInRoot } from "../../src/sys/openat2";
import { SyscallError } from "../../src/sys/libc";
import { O } from "../../src/sys/arch";
import { RecordingSyscalls } from "../support/recording-syscalls";

/** A fake filesystem: path -> symlink target, or true for a plain entry. */
function fakeFs(entries: Record<string, string | true>): PathFs {
  return {
    lstat: (p) => (p in entries ? { isSymbolicLink: () => typeof entries[p] === "string" } : undefined),
    readlink: (p) => entries[p] as string,
  };
}

describe("resolveRelative (fake fs)", () => {
  const fs = fakeFs({
    "/r/etc": true,
    "/r/etc/passwd": true,
    "/r/abs": "/etc",
    "/r/rel": "etc",
    "/r/up": "../../../../etc",
    "/r/evil": "/tmp/hostdir",
    "/r/loop1": "loop2",
    "/r/loop2": "loop1",
    "/r/self": "self",
    "/r/chain": "abs/passwd",
  });
  test("plain paths and missing components", () => {
    expect(resolveRelative("/r", "/etc/passwd", fs)).toBe("etc/passwd");
    expect(resolveRelative("/r", "etc//./passwd", fs)).toBe("etc/passwd");
    expect(resolveRelative("/r", "/missing/a/b", fs)).toBe("missing/a/b");
    expect(resolveRelative("/r", "/", fs)).toBe("");
  });
  test("absolute symlinks are resolved against the root", () => {
    expect(resolveRelative("/r", "/abs/passwd", fs)).toBe("etc/passwd");
    expect(resolveRelative("/r", "/chain", fs)).toBe("etc/passwd");
    expect(resolveRelative("/r", "/evil/x", fs)).toBe("tmp/hostdir/x");
    expect(resolveInRoot("/r", "/evil", fs)).toBe("/r/tmp/hostdir");
  });
  test("relative symlinks and .. are clamped at the root", () => {
    expect(resolveRelative("/r", "/rel/passwd", fs)).toBe("etc/passwd");
    expect(resolveRelative("/r", "/up/passwd", fs)).toBe("etc/passwd");
    expect(resolveRelative("/r", "/../../etc", fs)).toBe("etc");
    expect(resolveInRoot("/r", "../../../../../x", fs)).toBe("/r/x");
  });
  test("symlink loops are ELOOP", () => {
    for (const p of ["/loop1", "/self/x"]) {
      let err: unknown;
      try {
        resolveRelative("/r", p, fs);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SyscallError);
      expect((err as SyscallError).errno).toBe(40);
    }
  });
});

describe("resolveInRoot and openInRoot on a real tree", () => {
  const dir = mkdtempSync(join(tmpdir(), "bunc-path-"));
  const root = join(dir, "root"), outside = join(dir, "outside");
  mkdirSync(join(root, "etc"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, "etc/file"), "inside");
  writeFileSync(join(outside, "file"), "outside");
  symlinkSync(outside, join(root, "evil"));
  symlinkSync("../../../../outside", join(root, "dotdot"));
  symlinkSync("loop", join(root, "loop"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a symlink to a host directory stays in the rootfs", () => {
    expect(resolveInRoot(root, "/evil/file")).toBe(join(root, outside.slice(1), "file"));
    expect(resolveInRoot(root, "/dotdot/file")).toBe(join(root, "outside/file"));
  });
  test("a symlink loop is ELOOP", () => {
    expect(() => resolveInRoot(root, "/loop")).toThrow(SyscallError);
  });
  test("openInRoot: the kernel keeps the walk inside", () => {
    const rootFd = openSync(root, O.PATH | O.DIRECTORY);
    try {
      const fd = openInRoot(rootFd, "etc/file");
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(join(root, "etc/file"));
      closeSync(fd);
      // "dotdot" -> ../../../../outside: clamped at the root, so it does not exist inside.
      expect(() => openInRoot(rootFd, "dotdot/file")).toThrow(/ENOENT|errno 2|No such/);
      expect(() => openInRoot(rootFd, "evil/file")).toThrow();
      const self = openInRoot(rootFd, "");
      expect(readlinkSync(`/proc/self/fd/${self}`)).toBe(root);
      closeSync(self);
    } finally {
      closeSync(rootFd);
    }
  });
  test("tryOpenInRoot: -errno instead of a throw; RESOLVE_NO_SYMLINKS refuses any symlink", () => {
    const rootFd = openSync(root, 0o10000000 | 0o200000);
    const O_PATH_CLOEXEC = 0o10000000 | 0o2000000;
    try {
      expect(tryOpenInRoot(rootFd, "dotdot/file", O_PATH_CLOEXEC)).toBe(-2 /* ENOENT */);
      expect(tryOpenInRoot(rootFd, "evil", O_PATH_CLOEXEC, RESOLVE_NO_SYMLINKS)).toBe(-40 /* ELOOP */);
      const fd = tryOpenInRoot(rootFd, "etc/file", O_PATH_CLOEXEC, RESOLVE_NO_SYMLINKS);
      expect(fd).toBeGreaterThanOrEqual(0);
      closeSync(fd);
    } finally {
      closeSync(rootFd);
    }
  });
});

describe("mkdirAllInRoot and touchInRoot through Syscalls", () => {
  const dir = mkdtempSync(join(tmpdir(), "bunc-path-sys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  /** A fresh root with etc/ and a symlink out of it; fn gets its O_PATH fd. */
  function withRoot(fn: (root: string, rootFd: number, outside: string) => void): void {
    const root = join(dir, `root${++n}`), outside = join(dir, `outside${n}`);
    mkdirSync(join(root, "etc"), { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, join(root, "evil"));
    const rootFd = openSync(root, O.PATH | O.DIRECTORY);
    try {
      fn(root, rootFd, outside);
    } finally {
      closeSync(rootFd);
    }
  }
  const openFds = () => readdirSync("/proc/self/fd").length;

  test("mkdirAllInRoot makes only the missing directories, each with mkdirat in its pinned parent", () => {
    withRoot((root, rootFd) => {
      const sys = new RecordingSyscalls();
      // Which directory each parent fd pins is read during the call (the fd is closed after).
      const seen: unknown[] = [];
      const orig = sys.mkdirat.bind(sys);
      sys.mkdirat = (fd, name, mode, ctx) => {
        seen.push([readlinkSync(`/proc/self/fd/${fd}`), name, mode]);
        orig(fd, name, mode, ctx);
      };
      const before = openFds();
      mkdirAllInRoot(rootFd, "etc/a/b", 0o700, sys);
      expect(seen).toEqual([[join(root, "etc"), "a", 0o700], [join(root, "etc/a"), "b", 0o700]]);
      expect(statSync(join(root, "etc/a/b")).isDirectory()).toBe(true);
      expect(openFds()).toBe(before); // every fd it opened is closed again
    });
  });
  test("mkdirAllInRoot looks for the deepest existing level from the end: one open when all exist, two for a missing leaf", () => {
    withRoot((root, rootFd) => {
      mkdirSync(join(root, "etc/a/b/c"), { recursive: true });
      const sys = new RecordingSyscalls();
      mkdirAllInRoot(rootFd, "etc/a/b/c", 0o755, sys);
      expect(sys.of("openInRoot").map((c) => c.args[1])).toEqual(["etc/a/b/c"]);
      expect(sys.of("mkdirat")).toEqual([]);
      const leaf = new RecordingSyscalls();
      mkdirAllInRoot(rootFd, "etc/a/b/c/d", 0o755, leaf);
      expect(leaf.of("openInRoot").map((c) => c.args[1])).toEqual(["etc/a/b/c/d", "etc/a/b/c"]);
      expect(leaf.of("mkdirat").map((c) => c.args[1])).toEqual(["d"]);
      expect(statSync(join(root, "etc/a/b/c/d")).isDirectory()).toBe(true);
    });
  });
  test("mkdirAllInRoot: EEXIST from a racing creator is fine, other errors are not", () => {
    withRoot((_root, rootFd) => {
      const racing = new RecordingSyscalls({ fail: (c) => (c.op === "mkdirat" ? 17 /* EEXIST */ : undefined) });
      expect(() => mkdirAllInRoot(rootFd, "x", 0o755, racing)).not.toThrow();
      const denied = new RecordingSyscalls({ fail: (c) => (c.op === "mkdirat" ? 13 /* EACCES */ : undefined) });
      expect(() => mkdirAllInRoot(rootFd, "y/z", 0o755, denied)).toThrow(/EACCES/);
      expect(denied.of("mkdirat").map((c) => c.args[1])).toEqual(["y"]);
    });
  });
  test("touchInRoot creates the file exclusively, without following a symlink, parents first", () => {
    withRoot((root, rootFd) => {
      const sys = new RecordingSyscalls();
      touchInRoot(rootFd, "run/lock/file", 0o600, sys);
      expect(sys.of("mkdirat").map((c) => [c.args[1], c.args[2]])).toEqual([["run", 0o755], ["lock", 0o755]]);
      expect(sys.of("openat").map((c) => c.args.slice(1))).toEqual([["file", O.CREAT | O.EXCL | O.WRONLY | O.NOFOLLOW | O.CLOEXEC, 0o600]]);
      expect(statSync(join(root, "run/lock/file")).mode & 0o777).toBe(0o600 & ~process.umask());
      // Already there: nothing is created.
      const again = new RecordingSyscalls();
      touchInRoot(rootFd, "run/lock/file", 0o600, again);
      expect([...again.of("mkdirat"), ...again.of("openat")]).toEqual([]);
    });
  });
  test("through a symlink to a host directory, everything is made inside the root", () => {
    withRoot((root, rootFd, outside) => {
      const sys = new RecordingSyscalls();
      touchInRoot(rootFd, "etc/x/file", 0o644, sys);
      expect(() => mkdirAllInRoot(rootFd, "evil/sub", 0o755, sys)).toThrow(SyscallError);
      expect(existsSync(join(outside, "sub"))).toBe(false);
      expect(existsSync(join(root, "etc/x/file"))).toBe(true);
    });
  });
});
