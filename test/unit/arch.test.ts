// The per-architecture numbers: the tables of both architectures, and this kernel's own
// answer to the open flags of the running one (a wrong O_DIRECTORY opens a file happily).
import { afterAll, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archConstants, O } from "../../src/sys/arch";
import { schedGetAffinity } from "../../src/sys/proc";
import { linuxSyscalls } from "../../src/sys/syscalls";

const dir = mkdtempSync(join(tmpdir(), "bunc-arch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("aarch64 moves O_DIRECTORY and O_NOFOLLOW and numbers syscalls its own way", () => {
  const x64 = archConstants("x64"), arm64 = archConstants("arm64");
  expect([x64.O.DIRECTORY, x64.O.NOFOLLOW]).toEqual([0o200000, 0o400000]);
  expect([arm64.O.DIRECTORY, arm64.O.NOFOLLOW]).toEqual([0o40000, 0o100000]);
  expect(arm64.O.CLOEXEC).toBe(x64.O.CLOEXEC);
  expect(arm64.O.PATH).toBe(x64.O.PATH);
  expect([x64.SYS.clone, x64.SYS.pivot_root, x64.SYS.seccomp]).toEqual([56, 155, 317]);
  expect([arm64.SYS.clone, arm64.SYS.pivot_root, arm64.SYS.seccomp]).toEqual([220, 41, 277]);
  // The numbers from 424 on are shared by every architecture.
  expect(arm64.SYS.openat2).toBe(x64.SYS.openat2);
  expect(() => archConstants("ppc64")).toThrow(/unsupported architecture ppc64/);
});

test("this kernel agrees with the open flags of the running architecture", () => {
  const file = join(dir, "file"), link = join(dir, "link");
  writeFileSync(file, "");
  symlinkSync(file, link);
  expect(() => openSync(file, O.RDONLY | O.DIRECTORY)).toThrow(/ENOTDIR/);
  expect(() => openSync(link, O.RDONLY | O.NOFOLLOW)).toThrow(/ELOOP/);
  const dirFd = openSync(dir, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    // An O_PATH fd cannot be read from.
    expect(() => require("node:fs").readSync(dirFd, new Uint8Array(1))).toThrow(/EBADF/);
    expect(linuxSyscalls.fcntl(dirFd, 1 /* F_GETFD */, 0)).toBe(1 /* FD_CLOEXEC */);
  } finally {
    closeSync(dirFd);
  }
});

test("the syscall numbers of the running architecture reach the calls they name", () => {
  const root = openSync(dir, O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    // openat2 exists (5.6+) and confines: "file" opens, ".." stays at the root.
    closeSync(linuxSyscalls.openInRoot(root, "file"));
    closeSync(linuxSyscalls.openInRoot(root, "../../file"));
  } finally {
    closeSync(root);
  }
  // sched_getaffinity: this thread may run on some CPU.
  expect(schedGetAffinity().some((b) => b !== 0)).toBe(true);
});

/** `#define __NR_<name> <n>` of a kernel header, with asm-generic's __NR3264_ indirection. */
function kernelTable(file: string): Map<string, number> {
  const raw = new Map<string, string>();
  for (const m of readFileSync(file, "utf8").matchAll(/^#define (__NR(?:3264)?_\w+)\s+(\S+)/gm)) raw.set(m[1]!, m[2]!);
  const out = new Map<string, number>();
  for (const [name, v] of raw) {
    const n = Number(/^\d+$/.test(v) ? v : raw.get(v));
    if (name.startsWith("__NR_") && Number.isInteger(n)) out.set(name.slice(5), n);
  }
  return out;
}

// The kernel's own headers (linux-libc-dev): asm-generic/unistd.h is aarch64's table.
for (const [arch, header] of [["arm64", "/usr/include/asm-generic/unistd.h"], ["x64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"]] as const) {
  test.skipIf(!existsSync(header))(`every ${arch} syscall number matches the kernel's ${header.split("/include/")[1]}`, () => {
    const kernel = kernelTable(header);
    const wrong = Object.entries(archConstants(arch).SYS).filter(([name, n]) => kernel.get(name) !== n).map(([name, n]) => `${name}: ${n} (kernel ${kernel.get(name)})`);
    expect(wrong).toEqual([]);
  });
}
