// bunc's extraction must match GNU tar's entry for entry (GNU tar is the reference, in tests only).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, linkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar-stream";
import { pack, type Entry, type H } from "../support/tar";
import { unpackRootfs } from "../../src/bundle";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { BUNC } from "../support/harness";

const isRoot = process.geteuid?.() === 0;
let tmp: string;
afterEach(() => rmSync(tmp, { recursive: true, force: true }));
const scratch = () => (tmp = mkdtempSync(join(tmpdir(), "bunc-gnu-")));

function sh(cmd: string[]): string {
  const p = Bun.spawnSync(cmd);
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

/** One line per entry: type, mode, owner, mtime (ns), size (files), link target, link count, content hash, xattrs. */
function tree(dir: string): string[] {
  const lines = sh(["find", dir, "-mindepth", "1", "-printf", "%P\t%y\t%m\t%U:%G\t%T@\t%s\t%l\t%n\n"]).trim().split("\n");
  const xattrs = sh(["python3", "-c", `
import os, sys
for root, dirs, files in os.walk(sys.argv[1]):
    for n in dirs + files:
        p = os.path.join(root, n)
        for k in sorted(os.listxattr(p, follow_symlinks=False)):
            print(os.path.relpath(p, sys.argv[1]), k, os.getxattr(p, k, follow_symlinks=False).hex())`, dir]);
  return [
    ...lines.map((l) => {
      const f = l.split("\t");
      if (f[1] === "d") f[5] = "-"; // directory sizes depend on the filesystem's history
      if (f[1] === "f") f.push(String(Bun.hash(readFileSync(join(dir, f[0]!)))));
      return f.join("\t");
    }),
    ...xattrs.trim().split("\n").filter(Boolean),
  ].sort();
}

async function compareWithGnuTar(tarball: string, gnuFlags: string[] = [], unpack = (into: string) => unpackRootfs(tarball, into).then(() => {})) {
  const [ours, gnu] = [join(tmp, "bunc"), join(tmp, "gnu")];
  mkdirSync(gnu);
  await unpack(ours);
  sh(["tar", "-xf", tarball, "-C", gnu, ...gnuFlags]);
  const [a, b] = [tree(ours), tree(gnu)];
  expect(a.length).toBeGreaterThan(0);
  expect(a).toEqual(b);
  return a;
}


describe("extraction matches GNU tar", () => {
  test("Alpine minirootfs", async () => {
    scratch();
    const lines = await compareWithGnuTar(alpineTarball());
    expect(lines.length).toBeGreaterThan(500);
  });

  test.skipIf(!isRoot)("synthetic archive with every entry type, PAX overrides and xattrs (root)", async () => {
    scratch();
    const m = new Date("2023-05-06T07:08:09Z");
    const long = "long/" + "x".repeat(120) + "/" + "y".repeat(60);
    const archive = await pack([
      [{ name: "d", type: "directory", mode: 0o750, uid: 1000, gid: 1001, mtime: m }],
      [{ name: "d/f", mode: 0o640, uid: 1234, gid: 5678, mtime: m }, "hello\n"],
      [{ name: "d/empty", mode: 0o600, mtime: m }],
      [{ name: "d/suid", mode: 0o4755, uid: 0, gid: 0, mtime: m }, "#!/bin/sh\n"],
      [{ name: "d/sgid", mode: 0o2711, uid: 42, gid: 43, mtime: m }, "x"],
      [{ name: "d/sl", type: "symlink", linkname: "f", uid: 7, gid: 8, mtime: m }],
      [{ name: "d/dangling", type: "symlink", linkname: "/etc/does-not-exist", mtime: m }],
      [{ name: "d/hl", type: "link", linkname: "d/f", mtime: m }],
      [{ name: "d/fifo", type: "fifo", mode: 0o620, uid: 3, gid: 4, mtime: m }],
      [{ name: "d/dup", mode: 0o644, mtime: m }, "first"],
      [{ name: "d/dup", mode: 0o600, mtime: m }, "second, longer"],
      [{ name: "dev", type: "directory", mode: 0o755, mtime: m }],
      [{ name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666, mtime: m }],
      [{ name: "dev/loop9", type: "block-device", devmajor: 7, devminor: 9, mode: 0o660, gid: 6, mtime: m }],
      [{ name: "sticky", type: "directory", mode: 0o1777, mtime: m }],
      [{ name: "ro", type: "directory", mode: 0o555, mtime: m }],
      [{ name: "ro/f", mode: 0o444, mtime: m }, "read-only"],
      [{ name: "long", type: "directory", mode: 0o755, mtime: m }],
      [{ name: "long/" + "x".repeat(120), type: "directory", mode: 0o755, mtime: m }],
      [{ name: long, mode: 0o644, mtime: m }, "long name"],
      [{ name: "long-link", type: "symlink", linkname: long + "/../" + "z".repeat(100), mtime: m }],
      [{ name: "long-hard", type: "link", linkname: long, mtime: m }],
      [{ name: "pax", mode: 0o644, mtime: m, pax: { uid: "3000000", gid: "3000001", mtime: "1700000000.5" } }, "pax"],
      [{ name: "xattr", mode: 0o644, mtime: m, pax: { "SCHILY.xattr.user.bunc": "v1", "SCHILY.xattr.trusted.k": "v2" } }, "x"],
    ]);
    const file = join(tmp, "synthetic.tar");
    writeFileSync(file, archive);
    const lines = await compareWithGnuTar(file, ["--xattrs", "--xattrs-include=*"]);
    for (const want of ["d/fifo\tp\t620", "dev/null\tc\t666", "dev/loop9\tb\t660", "d/suid\tf\t4755", "sticky\td\t1777", "pax\tf\t644\t3000000:3000001\t1700000000.5"])
      expect(lines.some((l) => l.startsWith(want))).toBe(true);
    expect(lines).toContain("xattr user.bunc 7631");
  });

  test("GNU-format archive with long names and links, and a PAX archive with xattrs, made by GNU tar", async () => {
    scratch();
    const src = join(tmp, "src");
    const deep = join(src, "a".repeat(90), "b".repeat(90));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, "c".repeat(100)), "deep");
    linkSync(join(deep, "c".repeat(100)), join(src, "hard"));
    symlinkSync(join("a".repeat(90), "b".repeat(90), "c".repeat(100)), join(src, "sym"));
    writeFileSync(join(src, "attr"), "attr");
    sh(["python3", "-c", "import os,sys; os.setxattr(sys.argv[1], 'user.note', b'\\x01hi')", join(src, "attr")]);
    sh(["touch", "-h", "-d", "2020-01-02 03:04:05.678", ...["hard", "sym", "attr", "a".repeat(90)].map((n) => join(src, n))]);
    for (const format of ["gnu", "posix"]) {
      const file = join(tmp, `${format}.tar`);
      sh(["tar", `--format=${format}`, "--xattrs", "-cf", file, "-C", src, "."]);
      await compareWithGnuTar(file, ["--xattrs", "--xattrs-include=*"]);
      rmSync(join(tmp, "bunc"), { recursive: true });
      rmSync(join(tmp, "gnu"), { recursive: true });
    }
  });
});

describe.skipIf(BUNC.length !== 1)("`bunc bundle` (the binary)", () => {
  // It inflates on a thread of its own (src/sys/inflate-thread.c) while it writes files, and
  // reads the tar bytes where that thread put them (no pipe); a directory's attributes are set
  // through an fd of it (no /proc/self/fd path per directory).
  test.skipIf(!Bun.which("strace"))("matches GNU tar on the Alpine minirootfs, inflated on its own thread", async () => {
    scratch();
    const trace = join(tmp, "strace");
    const lines = await compareWithGnuTar(alpineTarball(), [], async (into) => {
      const b = join(tmp, "bundle");
      sh(["strace", "-f", "-qq", "-e", "trace=memfd_create,pipe,pipe2,fchmod,fchmodat", "-o", trace, ...BUNC, "bundle", alpineTarball(), b]);
      sh(["mv", join(b, "rootfs"), into]);
    });
    expect(lines.length).toBeGreaterThan(500);
    const calls = readFileSync(trace, "utf8");
    expect(calls).toContain('memfd_create("bunc-inflate-thread.so"'); // its object loaded (the unit tests run the thread)
    expect(calls).not.toMatch(/pipe2?\(/);
    expect(calls).not.toMatch(/fchmodat\(/);
    expect(calls.match(/fchmod\(/g)?.length).toBe(97 + 87); // the minirootfs's directories and files
  });

  // A directory's entries are written in the directory opened once, and a file's attributes
  // are set through the fd that wrote it: two openat2 per entry before.
  test.skipIf(!Bun.which("strace"))("50 files in one directory: the directory resolved once, the files' attributes by fd", async () => {
    scratch();
    const m = new Date("2024-01-02T03:04:05Z");
    const entries: Entry[] = [[{ name: "d", type: "directory", mode: 0o755, mtime: m }]];
    for (let i = 0; i < 50; i++) entries.push([{ name: `d/f${i}`, mode: i % 2 ? 0o640 : 0o4755, uid: 1000 + i, gid: 2000, mtime: m }, `file ${i}\n`]);
    writeFileSync(join(tmp, "many.tar"), await pack(entries));
    const trace = join(tmp, "strace");
    const lines = await compareWithGnuTar(join(tmp, "many.tar"), [], async (into) => {
      const b = join(tmp, "bundle");
      sh(["strace", "-f", "-qq", "-e", "trace=openat2,fchmodat,fchmod", "-o", trace, ...BUNC, "bundle", join(tmp, "many.tar"), b]);
      sh(["mv", join(b, "rootfs"), into]);
    });
    expect(lines.some((l) => l.startsWith("d/f0\tf\t4755\t1000:2000"))).toBe(true);
    const calls = readFileSync(trace, "utf8").split("\n");
    expect(calls.filter((l) => l.includes("openat2(")).length).toBeLessThan(10);
    expect(calls.filter((l) => /fchmod\(\d+, 0?4755\)/.test(l)).length).toBe(25);
  });

  test("a truncated or corrupt tarball: one line, exit 1, nothing left", () => {
    scratch();
    const gz = readFileSync(alpineTarball());
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 1_500_000, 1_600_000);
    for (const [name, bytes] of [["truncated.tar.gz", gz.subarray(0, 2_000_000)], ["corrupt.tar.gz", corrupt]] as const) {
      writeFileSync(join(tmp, name), bytes);
      const p = Bun.spawnSync([...BUNC, "bundle", join(tmp, name), join(tmp, `${name}.bundle`)], { stderr: "pipe" });
      expect(p.exitCode).toBe(1);
      expect(p.stderr.toString()).toBe(`bunc: cannot unpack ${join(tmp, name)}: truncated or corrupt gzip data\n`);
      expect(existsSync(join(tmp, `${name}.bundle`))).toBe(false);
    }
  });
});
