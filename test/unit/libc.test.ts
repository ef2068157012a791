// The libc soname is chosen at run time: glibc's libc.so.6, or musl's
// libc.musl-<arch>.so.1 (the same source builds for bun-linux-x64-musl).
import { describe, expect, test } from "bun:test";
import { detectMusl, libcSoname } from "../../src/sys/libc";

describe("libcSoname", () => {
  test("glibc", () => {
    expect(libcSoname("x64", false)).toBe("libc.so.6");
    expect(libcSoname("arm64", false)).toBe("libc.so.6");
  });
  test("musl, per architecture", () => {
    expect(libcSoname("x64", true)).toBe("libc.musl-x86_64.so.1");
    expect(libcSoname("arm64", true)).toBe("libc.musl-aarch64.so.1");
  });
  test("this process (a glibc Bun on Debian) loads libc.so.6", () => {
    expect(detectMusl()).toBe(false);
    expect(libcSoname()).toBe("libc.so.6");
  });
});
