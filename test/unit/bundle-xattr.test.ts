// xattr values are bytes: a binary one (as security.capability is) survives unpacking.
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unpackRootfs } from "../../src/bundle";
import { decodePax } from "../../src/bundle/pax";

let tmp = "";
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const getxattr = (file: string, name: string) =>
  Bun.spawnSync(["python3", "-c", "import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).hex())", file, name]).stdout.toString().trim();

test("decodePax keeps SCHILY.xattr values byte for byte and other records as UTF-8", () => {
  const rec = (k: string, v: Buffer) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from("\n")]);
    let len = body.length + 1;
    if (String(len).length + body.length !== len) len = String(len + 1).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  };
  const bin = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xc3, 0x28]);
  const pax = decodePax(Buffer.concat([rec("path", Buffer.from("dir/é")), rec("SCHILY.xattr.user.bin", bin)]));
  expect(pax.path).toBe("dir/é");
  expect(Buffer.from(pax["SCHILY.xattr.user.bin"]!, "latin1")).toEqual(bin);
});

test("a binary xattr written by GNU tar --xattrs is restored as the same bytes", async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-xattr-"));
  const src = join(tmp, "src");
  mkdirSync(src);
  writeFileSync(join(src, "f"), "x");
  const set = Bun.spawnSync(["python3", "-c", "import os,sys; os.setxattr(sys.argv[1], 'user.bin', bytes([1,0,0,2,255,195,40]))", join(src, "f")]);
  if (set.exitCode !== 0) return; // this filesystem has no user xattrs: nothing to compare
  const archive = join(tmp, "x.tar");
  expect(Bun.spawnSync(["tar", "--xattrs", "--xattrs-include=*", "-C", src, "-cf", archive, "f"]).exitCode).toBe(0);
  await unpackRootfs(archive, join(tmp, "out"));
  expect(getxattr(join(tmp, "out/f"), "user.bin")).toBe("01000002ffc328");
});
