// The single binary: glibc and musl builds from the same source.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT } from "../support/harness";

/** PT_INTERP of an ELF64 file: the dynamic loader it asks for. */
function interpreter(file: string): string {
  const b = readFileSync(file);
  const phoff = Number(b.readBigUInt64LE(0x20)), phentsize = b.readUInt16LE(0x36), phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (b.readUInt32LE(o) === 3 /* PT_INTERP */) {
      const off = Number(b.readBigUInt64LE(o + 8)), size = Number(b.readBigUInt64LE(o + 32));
      return b.subarray(off, off + size - 1).toString();
    }
  }
  return "";
}

describe("build", () => {
  test("bun build --compile makes a glibc dist/bunc and a musl dist/bunc-musl", () => {
    const p = Bun.spawnSync([process.execPath, join(PROJECT, "scripts/build.ts"), "--musl"], { stderr: "pipe" });
    expect(p.exitCode).toBe(0);
    expect(interpreter(join(PROJECT, "dist/bunc"))).toMatch(/ld-linux-(x86-64|aarch64)\.so\.[12]$/);
    expect(interpreter(join(PROJECT, "dist/bunc-musl"))).toMatch(/^\/lib\/ld-musl-(x86_64|aarch64)\.so\.1$/);
    // nsexec.c prebuilt and embedded when a C compiler is present (it is, in CI).
    if (Bun.which("cc")) expect(interpreter(join(PROJECT, "dist/nsexec-x64.so")) === "" || process.arch !== "x64").toBe(true);
    const v = Bun.spawnSync([join(PROJECT, "dist/bunc"), "--version"]);
    expect(v.stdout.toString()).toContain("bunc version");
  }, 300_000);
});
