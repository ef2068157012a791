// sys/files.ts against node:fs on a scratch tree (no root needed): what each call returns,
// and the errors callers test by code.
import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import * as f from "../../src/sys/files";
import { O } from "../../src/sys/arch";

const dir = fs.mkdtempSync(join(tmpdir(), "bunc-files-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("read: paths, fds, procfs, big files; missing ones throw ENOENT", () => {
  const big = "x".repeat(100_000) + "é\n";
  fs.writeFileSync(join(dir, "big"), big);
  expect(f.readText(join(dir, "big"))).toBe(big);
  expect(f.readText("/proc/self/status")).toContain("CapBnd:");
  const fd = fs.openSync(join(dir, "big"), "r");
  try {
    expect(f.readText(fd)).toBe(big);
    const b = new Uint8Array(3);
    expect(f.preadFull(fd, b, 100_000)).toBe(3);
    expect(new TextDecoder().decode(b)).toBe("é\n");
    expect(f.fileSize(fd)).toBe(Buffer.byteLength(big));
  } finally {
    fs.closeSync(fd);
  }
  expect(Buffer.from(f.readBytes(join(dir, "big"))).toString()).toBe(big);
  expect(() => f.readText(join(dir, "nope"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
});

test("write, rename, exists, directories, links, modes, removal", () => {
  f.writeText(join(dir, "a.tmp"), "hello", 0o600);
  expect((fs.statSync(join(dir, "a.tmp")).mode & 0o777)).toBe(0o600);
  f.renamePath(join(dir, "a.tmp"), join(dir, "a"));
  expect(fs.readFileSync(join(dir, "a"), "utf8")).toBe("hello");
  expect(f.pathExists(join(dir, "a"))).toBe(true);
  expect(f.pathExists(join(dir, "a.tmp"))).toBe(false);
  f.makeDirectories(join(dir, "d/e/g"), 0o700);
  f.makeDirectories(join(dir, "d/e/g")); // an existing directory is fine
  expect(() => f.makeDirectories(join(dir, "a/x"))).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  expect(() => f.makeDirectory(join(dir, "d"))).toThrow(expect.objectContaining({ code: "EEXIST" }));
  expect(f.isDirectory(join(dir, "d/e"))).toBe(true);
  expect(f.isDirectory(join(dir, "a"))).toBe(false);
  expect(f.readDirectory(dir).sort()).toEqual(fs.readdirSync(dir).sort());
  f.makeSymlink("a", join(dir, "l"));
  f.makeSymlink("d", join(dir, "ld")); // a link to a directory is not one
  expect(f.readSubdirectories(dir).sort()).toEqual(fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort());
  expect(f.readSubdirectories(dir)).toEqual(["d"]);
  expect(f.makeDirectory(join(dir, "d"), 0o755, true)).toBe(false); // there already: no error built
  expect(f.statPath(join(dir, "nothing/here"), { missingOk: true })).toBeUndefined();
  expect(f.readLink(join(dir, "l"))).toBe("a");
  expect(f.statPath(join(dir, "l"), { follow: false })!.isSymbolicLink()).toBe(true);
  expect(f.statPath(join(dir, "l"))!.isFile()).toBe(true);
  const st = f.statPath(join(dir, "a"))!, node = fs.statSync(join(dir, "a"), { bigint: true });
  expect([st.mode, st.uid, st.gid, st.size, st.ino]).toEqual([Number(node.mode), Number(node.uid), Number(node.gid), Number(node.size), node.ino]);
  expect(f.statPath(join(dir, "nope"), { missingOk: true })).toBeUndefined();
  expect(() => f.statPath(join(dir, "nope"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
  expect(f.statPath("/dev/null")!.isCharacterDevice()).toBe(true);
  f.changeMode(join(dir, "a"), 0o640);
  expect(fs.statSync(join(dir, "a")).mode & 0o777).toBe(0o640);
  expect(f.accessible(join(dir, "a"), 4 /* R_OK */)).toBe(true);
  const fd = f.openPath(join(dir, "a"), O.RDWR | O.CLOEXEC);
  try {
    expect(f.statFd(fd).size).toBe(5);
    f.writeFully(fd, "hello!!");
    f.rewriteFd(fd, new TextEncoder().encode("hi")); // truncated, then written at offset 0
  } finally {
    f.closeFd(fd);
  }
  expect(fs.readFileSync(join(dir, "a"), "utf8")).toBe("hi");
  f.unlinkPath(join(dir, "l"));
  f.removeDirectory(join(dir, "d/e/g"));
  expect(fs.existsSync(join(dir, "l")) || fs.existsSync(join(dir, "d/e/g"))).toBe(false);
  expect(() => f.removeDirectory(join(dir, "d"))).toThrow(expect.objectContaining({ code: "ENOTEMPTY" }));
});

test("tryRemove returns the expected errnos (0 when removed) and throws any other", () => {
  const dir = fs.mkdtempSync(join(tmpdir(), "bunc-tryremove-"));
  try {
    fs.writeFileSync(join(dir, "a"), "x");
    expect(f.tryRemove(join(dir, "a"), false, 2)).toBe(0);
    expect(fs.existsSync(join(dir, "a"))).toBe(false);
    expect(f.tryRemove(join(dir, "a"), false, 2)).toBe(2); // ENOENT, expected
    fs.mkdirSync(join(dir, "d"));
    fs.writeFileSync(join(dir, "d", "x"), "");
    expect(f.tryRemove(join(dir, "d"), true, 2, 39)).toBe(39); // ENOTEMPTY, expected
    expect(() => f.tryRemove(join(dir, "d"), true, 2)).toThrow(/rmdir .*: ENOTEMPTY/);
    fs.rmSync(join(dir, "d", "x"));
    expect(f.tryRemove(join(dir, "d"), true, 2, 39)).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("readTextIf: the text, or undefined for an expected errno (a process gone, a file not there); others throw", () => {
  expect(f.readTextIf("/proc/self/stat", 2)).toContain(`${process.pid} (`);
  expect(f.readTextIf("/nonexistent-bunc/x", 2)).toBeUndefined();
  expect(f.readTextIf("/proc/999999999/stat", 2, 3)).toBeUndefined();
  expect(() => f.readTextIf("/nonexistent-bunc/x", 13)).toThrow(/open \/nonexistent-bunc\/x: ENOENT/);
});
