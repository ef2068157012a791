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
  test("musl is told by its loader in the process's maps", () => {
    expect(detectMusl(() => "7f0000-7f1000 r-xp 00000000 08:01 12 /lib/ld-musl-x86_64.so.1\n")).toBe(true);
    expect(detectMusl(() => "7f0000-7f1000 r-xp 00000000 08:01 12 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n")).toBe(false);
  });
  test("this process (a glibc Bun on Debian) loads libc.so.6", () => {
    expect(detectMusl()).toBe(false);
    expect(libcSoname()).toBe("libc.so.6");
  });
});

describe("syscall tracing (--debug)", () => {
  test("every checked call is reported, a failure with its errno name", () => {
    const { traceSyscalls } = require("../../src/sys/libc") as typeof import("../../src/sys/libc");
    const { linuxSyscalls } = require("../../src/sys/syscalls") as typeof import("../../src/sys/syscalls");
    const lines: string[] = [];
    traceSyscalls((l) => lines.push(l));
    try {
      expect(() => linuxSyscalls.chdir("/nonexistent-bunc-trace")).toThrow();
    } finally {
      traceSyscalls(undefined);
    }
    expect(lines).toContain("chdir /nonexistent-bunc-trace = -1 ENOENT");
  });
});

describe("checkExpecting", () => {
  test("an expected errno is traced and returned, no error is built; another one throws; success is 0", () => {
    const { checkExpecting, libc: c, cstr: s, traceSyscalls } = require("../../src/sys/libc") as typeof import("../../src/sys/libc");
    const { ptr: p } = require("bun:ffi") as typeof import("bun:ffi");
    const lines: string[] = [];
    traceSyscalls((l) => lines.push(l));
    try {
      const missing = s("/nonexistent-bunc/x");
      expect(checkExpecting("open", c.open(p(missing), 0, 0n), "/nonexistent-bunc/x", 2)).toBe(2);
      expect(lines).toEqual(["open /nonexistent-bunc/x = -1 ENOENT"]);
      expect(() => checkExpecting("open", c.open(p(missing), 0, 0n), "/nonexistent-bunc/x", 17)).toThrow(/open \/nonexistent-bunc\/x: ENOENT/);
      const fd = c.open(p(s("/proc/self/stat")), 0o2000000, 0n);
      expect(checkExpecting("open", fd, "/proc/self/stat", 2)).toBe(0);
      c.close(fd);
    } finally {
      traceSyscalls(undefined);
    }
  });
});

describe("bindSymbols: bun:ffi's native dlopen, with the argument conversions of its module", () => {
  const { bindSymbols, ptr, cstr } = require("../../src/sys/libc") as typeof import("../../src/sys/libc");
  const c = bindSymbols("libc.so.6", {
    open: { args: ["ptr", "i32", "i32"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
    read: { args: ["i32", "ptr", "u64"], returns: "i64" },
    pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
    lseek: { args: ["i32", "i64", "i32"], returns: "i64" },
    getpid: { args: [], returns: "i32" },
  } as const);

  test("i64 from a number or a BigInt, u64 clamped at 0, pointers from views, ArrayBuffers or null", () => {
    const fd = c.open(ptr(cstr("/proc/self/stat")), 0o2000000, 0);
    try {
      expect(Number(c.lseek(fd, 3, 0))).toBe(3);
      expect(Number(c.lseek(fd, 5n, 0))).toBe(5);
      const buf = new ArrayBuffer(8);
      expect(Number(c.read(fd, buf, 8))).toBe(8); // an ArrayBuffer is passed by its address
      expect(new TextDecoder().decode(buf)).toBe(require("node:fs").readFileSync("/proc/self/stat", "utf8").slice(5, 13));
      expect(Number(c.pread(fd, new Uint8Array(8), -5, 0))).toBe(0); // a negative count is 0 bytes, not 2^64-5
      expect(Number(c.read(fd, null, 0))).toBe(0);
      expect(c.getpid()).toBe(process.pid);
    } finally {
      c.close(fd);
    }
  });

  test("the raw syscall: six arguments, those left out or null passed as 0", () => {
    const { syscall, errno } = require("../../src/sys/libc") as typeof import("../../src/sys/libc");
    const { SYS } = require("../../src/sys/arch") as typeof import("../../src/sys/arch");
    const stx = new Uint8Array(256);
    expect(Number(syscall(SYS.statx, -100, ptr(cstr("/proc/self")), 0, 0xfff, ptr(stx)))).toBe(0); // statx(AT_FDCWD, ..., STATX_BASIC_STATS)
    expect(new DataView(stx.buffer).getUint16(0x1c, true) & 0o170000).toBe(0o040000); // stx_mode: a directory
    expect(Number(syscall(SYS.statx, -100, null, 0, 0xfff, ptr(stx)))).toBe(-1); // a null path
    expect(errno()).toBe(14); // EFAULT
    const fd = Number(syscall(SYS.openat2, -100n, ptr(cstr("/")), ptr(new BigUint64Array(3)), 24)); // the rest left out
    expect(fd).toBeGreaterThan(2);
    c.close(fd);
  });

  test("a missing library or symbol throws", () => {
    expect(() => bindSymbols("libbunc-nonexistent.so.1", { f: { args: [], returns: "i32" } } as const)).toThrow();
    expect(() => bindSymbols("libc.so.6", { bunc_no_such_symbol: { args: [], returns: "i32" } } as const)).toThrow();
  });
});
