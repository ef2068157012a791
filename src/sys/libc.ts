// The one FFI module: every libc symbol bunc calls is declared here, and every
// raw call goes through `check`, which turns -1 into a SyscallError.
import { dlopen, FFIType, ptr, read, type Pointer } from "bun:ffi";
import { errnoName } from "./errno";
import { BuncError } from "./errors";
import { SYS, type SyscallName } from "./arch";

const { i32, u32, i64, u64, ptr: P, cstring } = FFIType;

/** The libc soname for this process: glibc's libc.so.6, or musl's libc.musl-<arch>.so.1. */
export function libcSoname(arch: string = process.arch, isMusl: boolean = detectMusl()): string {
  if (!isMusl) return "libc.so.6";
  const muslArch = ({ x64: "x86_64", arm64: "aarch64", arm: "armhf", ia32: "i386" } as Record<string, string>)[arch] ?? arch;
  return `libc.musl-${muslArch}.so.1`;
}

/**
 * musl when musl's loader is mapped into this process (what the running binary links), read
 * from /proc/self/maps: cheaper than process.report, which builds a whole diagnostic report.
 */
export function detectMusl(maps: () => string = () => (require("node:fs") as typeof import("node:fs")).readFileSync("/proc/self/maps", "utf8")): boolean {
  return /\/ld-musl-[\w.-]+\.so/.test(maps());
}

const DECLS = {
  __errno_location: { args: [], returns: P },
  syscall: { args: [i64, i64, i64, i64, i64, i64, i64], returns: i64 },
  mount: { args: [P, P, P, u64, P], returns: i32 },
  umount2: { args: [P, i32], returns: i32 },
  chdir: { args: [P], returns: i32 },
  fchdir: { args: [i32], returns: i32 },
  chroot: { args: [P], returns: i32 },
  setfsuid: { args: [i32], returns: i32 },
  setfsgid: { args: [i32], returns: i32 },
  sethostname: { args: [P, u64], returns: i32 },
  setdomainname: { args: [P, u64], returns: i32 },
  unshare: { args: [i32], returns: i32 },
  setns: { args: [i32, i32], returns: i32 },
  mknod: { args: [P, u64, u64], returns: i32 },
  open: { args: [P, i32, u64], returns: i32 },
  openat: { args: [i32, P, i32, u64], returns: i32 },
  close: { args: [i32], returns: i32 },
  read: { args: [i32, P, u64], returns: i64 },
  write: { args: [i32, P, u64], returns: i64 },
  dup2: { args: [i32, i32], returns: i32 },
  fcntl: { args: [i32, i32, i64], returns: i32 },
  prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
  setresuid: { args: [u64, u64, u64], returns: i32 },
  setresgid: { args: [u64, u64, u64], returns: i32 },
  setgroups: { args: [u64, P], returns: i32 },
  prlimit: { args: [i32, i32, P, P], returns: i32 },
  umask: { args: [u64], returns: u64 },
  kill: { args: [i32, i32], returns: i32 },
  waitpid: { args: [i32, P, i32], returns: i32 },
  socketpair: { args: [i32, i32, i32, P], returns: i32 },
  pipe2: { args: [P, i32], returns: i32 },
  poll: { args: [P, u64, i32], returns: i32 },
  mkfifo: { args: [P, u64], returns: i32 },
  execve: { args: [P, P, P], returns: i32 },
  getpid: { args: [], returns: i32 },
  sendmsg: { args: [i32, P, i32], returns: i64 },
  recvmsg: { args: [i32, P, i32], returns: i64 },
  send: { args: [i32, P, u64, i32], returns: i64 },
  recv: { args: [i32, P, u64, i32], returns: i64 },
  ioctl: { args: [i32, u64, P], returns: i32 },
  isatty: { args: [i32], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  statvfs: { args: [P, P], returns: i32 },
  getuid: { args: [], returns: i32 },
  mkdirat: { args: [i32, P, u64], returns: i32 },
  symlinkat: { args: [P, i32, P], returns: i32 },
  linkat: { args: [i32, P, i32, P, i32], returns: i32 },
  mknodat: { args: [i32, P, u64, u64], returns: i32 },
  unlinkat: { args: [i32, P, i32], returns: i32 },
  fchownat: { args: [i32, P, u64, u64, i32], returns: i32 },
  fchmodat: { args: [i32, P, u64, i32], returns: i32 },
  utimensat: { args: [i32, P, P, i32], returns: i32 },
  fsetxattr: { args: [i32, P, P, u64, i32], returns: i32 },
  lsetxattr: { args: [P, P, P, u64, i32], returns: i32 },
  getxattr: { args: [P, P, P, u64], returns: i64 },
  listxattr: { args: [P, P, u64], returns: i64 },
  socket: { args: [i32, i32, i32], returns: i32 },
  connect: { args: [i32, P, i32], returns: i32 },
  readlinkat: { args: [i32, P, P, u64], returns: i64 },
  faccessat: { args: [i32, P, i32, i32], returns: i32 },
  lseek: { args: [i32, i64, i32], returns: i64 },
  statx: { args: [i32, P, i32, u32, P], returns: i32 },
  pread: { args: [i32, P, u64, i64], returns: i64 },
  renameat: { args: [i32, P, i32, P], returns: i32 },
  ftruncate: { args: [i32, i64], returns: i32 },
  pwrite: { args: [i32, P, u64, i64], returns: i64 },
  setsid: { args: [], returns: i32 },
  posix_spawn: { args: [P, P, P, P, P, P], returns: i32 },
  posix_spawn_file_actions_init: { args: [P], returns: i32 },
  posix_spawn_file_actions_adddup2: { args: [P, i32, i32], returns: i32 },
  posix_spawn_file_actions_destroy: { args: [P], returns: i32 },
} as const;

type Symbols = ReturnType<typeof dlopen<typeof DECLS>>["symbols"];
/** The libc the compiled binary was built for: scripts/build.ts defines it (undefined from sources). */
declare const BUNC_LIBC: "glibc" | "musl" | undefined;
// From the build when there is one: no command need read its own /proc/self/maps for it.
const soname = libcSoname(process.arch, typeof BUNC_LIBC === "string" ? BUNC_LIBC === "musl" : detectMusl());
// errno is read right after a failed call: its accessor is bound before anything else runs.
const loaded: Partial<Symbols> = dlopen(soname, { __errno_location: DECLS.__errno_location }).symbols as Partial<Symbols>;

/**
 * libc's symbols, each bound on first use: bun:ffi compiles a trampoline per symbol, and a
 * command uses a handful of the ~60 declared here (every bunc command is a fresh process).
 */
export const libc: Symbols = new Proxy(loaded as Symbols, {
  get(target, name: string) {
    const have = (target as any)[name];
    if (have) return have;
    const decl = (DECLS as Record<string, any>)[name];
    if (!decl) return undefined;
    // glibc before 2.33 (Debian 11) exports mknod and mknodat only as __xmknod*: the raw syscall
    const fn = name === "mknodat" ? (dirfd: number, path: Pointer, mode: bigint, dev: bigint) => Number(syscall(SYS.mknodat, dirfd, path, mode, dev))
      : name === "mknod" ? (path: Pointer, mode: bigint, dev: bigint) => Number(syscall(SYS.mknodat, -100, path, mode, dev))
      : name === "statx" ? bindOr(name, decl, (d: number, p: Pointer, f: number, m: number, b: Pointer) => Number(syscall(SYS.statx, d, p, f, m, b)))
      : dlopen(soname, { [name]: decl }).symbols[name];
    (target as any)[name] = fn;
    return fn;
  },
});
export { cstring };

/** A symbol older libcs lack (musl before 1.2.5 has no statx): the raw syscall then. */
function bindOr(name: string, decl: any, fallback: (...args: any[]) => number): any {
  try {
    return dlopen(soname, { [name]: decl }).symbols[name];
  } catch {
    return fallback;
  }
}

export function errno(): number {
  return read.i32(libc.__errno_location() as Pointer, 0);
}

/** One error class for every failed syscall: which call, errno and its name, and the path involved. */
export class SyscallError extends BuncError {
  declare readonly errno: number;
  declare readonly code: string;
  constructor(
    readonly syscall: string,
    errno: number,
    readonly path?: string,
  ) {
    super(`${syscall}${path ? ` ${path}` : ""}: ${errnoName(errno)}`, { errno });
    this.name = "SyscallError";
  }
}

/** Where each checked call is reported (`--debug` sets it; BUNC_TRACE_SYSCALLS=1 writes to stderr). */
let tracer: ((line: string) => void) | undefined =
  process.env.BUNC_TRACE_SYSCALLS === "1" ? (line) => process.stderr.write(`[bunc syscall] ${line}\n`) : undefined;

export function traceSyscalls(fn: ((line: string) => void) | undefined): void {
  tracer = fn;
}

/** Raise a SyscallError when a libc call returned a negative value; read errno first. */
export function check<T extends number | bigint>(name: string, rc: T, path?: string): T {
  if (rc < 0) {
    const e = new SyscallError(name, errno(), path);
    tracer?.(`${name}${path ? ` ${path}` : ""} = -1 ${e.code}`);
    throw e;
  }
  tracer?.(`${name}${path ? ` ${path}` : ""} = ${rc}`);
  return rc;
}

/**
 * Like check, but a failure with one of `expected` errnos (an absent file, an existing
 * directory) is traced and returned instead of thrown: no error object is built (~10 µs).
 * Returns 0 on success.
 */
export function checkExpecting(name: string, rc: number | bigint, path: string | undefined, ...expected: number[]): number {
  if (rc < 0) {
    const e = errno();
    if (expected.includes(e)) {
      tracer?.(`${name}${path ? ` ${path}` : ""} = -1 ${errnoName(e)}`);
      return e;
    }
  }
  check(name, rc, path);
  return 0;
}

const encoder = new TextEncoder();
/** NUL-terminated bytes for a C string argument (keep the buffer referenced until the call returns). */
export function cstr(s: string): Uint8Array {
  return encoder.encode(s + "\0");
}

export function cptr(s: string | null | undefined): Pointer | null {
  return s == null ? null : ptr(cstr(s));
}

/** argv/envp: an array of pointers plus a trailing NULL; returns the array and the buffers it points to. */
export function cstrArray(items: string[]): { array: BigUint64Array; keep: Uint8Array[] } {
  const keep = items.map(cstr);
  const array = new BigUint64Array(keep.length + 1);
  keep.forEach((b, i) => (array[i] = BigInt(ptr(b))));
  return { array, keep };
}


export function syscall(nr: number, ...args: (number | bigint | Pointer | null)[]): bigint {
  const a = [0, 1, 2, 3, 4, 5].map((i) => {
    const v = args[i];
    return v == null ? 0n : BigInt(v as number);
  });
  return libc.syscall(nr, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!) as bigint;
}

/**
 * A raw syscall by its name in the arch table, traced and checked like every libc call. The
 * name may say what the call was for, as errors show it: "mount_setattr(MOUNT_ATTR_IDMAP)".
 */
export function checkedSyscall(name: SyscallName | `${SyscallName}(${string})`, args: (number | bigint | Pointer | null)[], path?: string): bigint {
  const nr = SYS[name.replace(/\(.*$/, "") as SyscallName];
  return check(name, syscall(nr, ...args), path);
}
