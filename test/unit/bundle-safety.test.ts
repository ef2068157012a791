// A corpus of malicious archives built here; each must leave everything outside the target unchanged.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar-stream";
import { pack, type Entry, type H } from "../support/tar";
import { unpackRootfs } from "../../src/bundle";

let sandbox: string, target: string, outside: string;
afterEach(() => {
  rmSync(sandbox, { recursive: true, force: true });
  rmSync("/tmp/bunc-evil-pwned", { force: true }); // only ever present after a failed assertion
});

function setup() {
  sandbox = mkdtempSync(join(tmpdir(), "bunc-evil-"));
  target = join(sandbox, "target");
  outside = join(sandbox, "outside");
  mkdirSync(join(outside, "etc"), { recursive: true, mode: 0o755 });
  writeFileSync(join(outside, "secret"), "secret");
  writeFileSync(join(outside, "etc", "passwd"), "root:x:0:0\n");
}

/** Everything under the sandbox except the target, plus a few host files: path, type, mode, owner, mtime, nlink, content. */
function snapshot(): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (p === target) return;
    const s = lstatSync(p, { bigint: true });
    out.push(`${p} ${s.mode} ${s.uid}:${s.gid} ${s.mtimeNs} ${s.nlink} ${s.size}` + (s.isFile() ? ` ${Bun.hash(readFileSync(p))}` : s.isSymbolicLink() ? ` -> ${readlinkSync(p)}` : ""));
    if (s.isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  };
  walk(outside); // the sandbox itself gains "target"
  for (const f of ["/etc/passwd", "/etc/hostname"]) if (existsSync(f)) walk(f);
  return out;
}


const file = (name: string, body = "pwned"): Entry => [{ name, mode: 0o644 }, body];
const symlink = (name: string, linkname: string): Entry => [{ name, type: "symlink", linkname }];
const dir = (name: string, mode = 0o755): Entry => [{ name, type: "directory", mode }];
const hardlink = (name: string, linkname: string): Entry => [{ name, type: "link", linkname }];

/** name -> archive entries; `outside` and `sandbox` placeholders are filled in per test. */
const corpus: Record<string, (o: string) => Entry[]> = {
  "dot-dot names": () => [file("../outside/secret"), file("a/../../outside/pwned"), file("../../../../tmp/bunc-evil-pwned")],
  "absolute names": (o) => [file(`${o}/secret`), file(`${o}/pwned`), file("/tmp/bunc-evil-pwned")],
  "absolute symlink planted earlier, then written through": (o) => [symlink("etc", `${o}/etc`), file("etc/passwd"), file("etc/new")],
  "relative symlink escaping, then written through": () => [symlink("a", "../outside"), file("a/secret"), file("a/pwned")],
  "symlink to / as a parent directory": (o) => [symlink("root", "/"), file(`root${o}/pwned`), file("root/tmp/bunc-evil-pwned")],
  "chained symlinked parents": (o) => [symlink("x", "y/.."), dir("y"), symlink("y/z", `${o}`), file("x/x/y/z/pwned"), file("y/z/secret")],
  "file entry replacing a symlink to an outside file": (o) => [symlink("s", `${o}/secret`), file("s", "overwritten")],
  "hardlink to an outside file": (o) => [hardlink("h1", `${o}/secret`), hardlink("h2", "../outside/secret")],
  "hardlink through a planted symlink, then written": (o) => [symlink("s", `${o}/secret`), hardlink("h", "s"), file("h", "through")],
  "hardlink via a symlinked parent": (o) => [symlink("p", o), hardlink("h", "p/secret")],
  "names through /proc": (o) => [symlink("p", `/proc/self/root${o}`), file("p/pwned"), symlink("cwd", "/proc/self/cwd"), file("cwd/bunc-evil-pwned")],
  "directory replaced by a symlink before its mode is applied": (o) => [dir("d", 0o777), symlink("d", `${o}/etc`), dir("e", 0o700), symlink("e", o)],
  "device and fifo through a symlinked parent": (o) => [symlink("dev", o), [{ name: "dev/fifo", type: "fifo", mode: 0o666 }], [{ name: "dev/null2", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 }]],
};

describe("malicious archives never write outside the target", () => {
  for (const [name, build] of Object.entries(corpus)) {
    test(name, async () => {
      setup();
      const before = snapshot();
      const archive = await pack(build(outside));
      try {
        await unpackRootfs(archive, target);
      } catch (e) {
        expect((e as Error).message).toStartWith("cannot unpack archive: "); // refusing is fine too
        expect(existsSync(target)).toBe(false); // and the partial output is gone
      }
      expect(snapshot()).toEqual(before);
      expect(existsSync("/tmp/bunc-evil-pwned")).toBe(false);
      expect(existsSync(join(process.cwd(), "bunc-evil-pwned"))).toBe(false); // via /proc/self/cwd
    });
  }

  test("escaping writes land inside the target instead, symlinks resolved as in the container", async () => {
    setup();
    await unpackRootfs(await pack([symlink("etc", `${outside}/etc`), file("etc/passwd", "inside"), file(`${outside}/abs`, "abs"), symlink("lib", "usr/lib"), file("lib/libc.so", "c")]), target);
    expect(readFileSync(join(target, outside, "etc/passwd"), "utf8")).toBe("inside");
    expect(readFileSync(join(target, "usr/lib/libc.so"), "utf8")).toBe("c");
    expect(readlinkSync(join(target, "lib"))).toBe("usr/lib");
    expect(readFileSync(join(target, outside, "abs"), "utf8")).toBe("abs");
    expect(readlinkSync(join(target, "etc"))).toBe(`${outside}/etc`); // the link itself is kept verbatim
  });
});
