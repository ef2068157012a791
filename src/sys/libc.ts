// The one FFI module: every libc symbol bunc calls is declared here, and every
// raw call goes through `check`, which turns -1 into a SyscallError. Every other library
// (libz, the prebuilt nsexec.so) is bound through bindSymbols here too.
import type { FFITypeOrString, Pointer } from "bun:ffi";
import { errnoName } from "./errno";
import { BuncError } from "./errors";
import { SYS, type SyscallName } from "./arch";

export type { Pointer };
type Decl = { readonly args: readonly FFITypeOrString[]; readonly returns: FFITypeOrString };
export type Decls = Record<string, Decl>;
export type Symbols<D extends Decls> = ReturnType<typeof import("bun:ffi").dlopen<D>>["symbols"];

/**
 * bun:ffi's native half, the object its `bun:ffi` module wraps. The module is JavaScript
 * that Bun compiles from source when it is first imported, and its dlopen builds every
 * symbol's argument conversions with `new Function`: the JavaScript parser at run time,
 * 2.75 MiB of a command's peak RSS and 7-10 of its heap blocks (README, Performance).
 * bindSymbols does those conversions itself. A Bun without it: the module.
 */
interface NativeFFI {
  dlopen(path: string, decls: Decls): { symbols: Record<string, (...args: any[]) => any>; close(): void } | Error;
  ptr(view: NodeJS.TypedArray | ArrayBufferLike | DataView, byteOffset?: number): Pointer;
  read: typeof import("bun:ffi").read;
  CString(p: Pointer, byteOffset?: number, byteLength?: number): string;
}
const native: NativeFFI = (Bun as any).FFI?.dlopen ? (Bun as any).FFI : fromModule();

function fromModule(): NativeFFI {
  const m = require("bun:ffi") as typeof import("bun:ffi");
  const dlopen = (path: string, decls: Decls) => {
    try {
      return m.dlopen(path, decls);
    } catch (e) {
      return e as Error;
    }
  };
  return { dlopen, ptr: m.ptr, read: m.read, CString: (p, o, l) => new m.CString(p, o, l).toString() };
}

export const read = native.read;

/** The address of a buffer's bytes, for a pointer argument (keep the buffer referenced until the call returns). */
export function ptr(view: NodeJS.TypedArray | ArrayBufferLike | DataView, byteOffset?: number): Pointer {
  return byteOffset === undefined ? native.ptr(view) : native.ptr(view, byteOffset);
}

/** The NUL-terminated string at `p`. */
export function cString(p: Pointer): string {
  return native.CString(p);
}

// What each argument becomes before the call, as the bun:ffi module converts it: the
// native trampoline reads an i32 from an int32-encoded value (a number the engine keeps as a
// double would be misread), u32 past 2^31 as its int32 bits, and clamps negative u64s to 0.
const toI32 = (v: any) => v | 0;
const toU32 = (v: any) => (v < 0 ? 0 : v > 0xffffffff ? -1 : v | 0);
const toI64 = (v: any) => (typeof v === "bigint" ? v : +v || 0);
const toU64 = (v: any) => (typeof v === "bigint" || ArrayBuffer.isView(v) ? v : +v > 0 ? +v : 0);
function toPtr(v: any): any {
  if (typeof v === "number" || ArrayBuffer.isView(v)) return v;
  if (!v) return null;
  if (v instanceof ArrayBuffer) return native.ptr(v);
  throw new TypeError(`Unable to convert ${typeof v} to a pointer`);
}
const CONVERT: Record<string, (v: any) => any> = {
  i32: toI32, int32_t: toI32, int: toI32, u32: toU32, uint32_t: toU32,
  i64: toI64, int64_t: toI64, u64: toU64, uint64_t: toU64, usize: toU64,
  ptr: toPtr, pointer: toPtr, "void*": toPtr, cstring: toPtr,
};

function withConversions(fn: (...args: any[]) => any, name: string, decl: Decl): (...args: any[]) => any {
  const conv = decl.args.map((t) => {
    const c = CONVERT[String(t)];
    if (!c) throw new TypeError(`${name}: argument type ${String(t)} is not one bindSymbols converts`);
    return c;
  });
  if (String(decl.returns) === "cstring") throw new TypeError(`${name}: return a pointer and read it with cString`);
  switch (conv.length) {
    case 0: return fn;
    case 1: { const [a] = conv as [any]; return (x) => fn(a(x)); }
    case 2: { const [a, b] = conv as [any, any]; return (x, y) => fn(a(x), b(y)); }
    case 3: { const [a, b, c] = conv as [any, any, any]; return (x, y, z) => fn(a(x), b(y), c(z)); }
    // statx, mount and openat run per path component or mount: no array per call.
    case 4: { const [a, b, c, d] = conv as [any, any, any, any]; return (x, y, z, w) => fn(a(x), b(y), c(z), d(w)); }
    case 5: { const [a, b, c, d, e] = conv as [any, any, any, any, any]; return (x, y, z, w, v) => fn(a(x), b(y), c(z), d(w), e(v)); }
    // syscall (the number and six arguments): openat2 runs per directory an archive writes into.
    case 7: { const [a, b, c, d, e, f, g] = conv as [any, any, any, any, any, any, any]; return (x, y, z, w, v, u, t) => fn(a(x), b(y), c(z), d(w), e(v), f(u), g(t)); }
    default: return (...xs: any[]) => fn(...xs.map((x, i) => conv[i]!(x)));
  }
}

/** dlopen(path) with `decls`, each symbol converting its arguments as bun:ffi's module does. Throws what dlopen failed with. */
export function bindSymbols<D extends Decls>(path: string, decls: D): Symbols<D> {
  const lib = native.dlopen(path, decls);
  if (lib instanceof Error) throw lib;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(decls)) out[name] = withConversions(lib.symbols[name]!, name, decls[name]!);
  return out as Symbols<D>;
}

/** bun:ffi's TinyCC (`cc`), only for nsexec.c in a build without a C compiler: the module is loaded then. */
export function compileC<D extends Decls>(source: string, decls: D): Symbols<D> {
  return (require("bun:ffi") as typeof import("bun:ffi")).cc({ source, symbols: decls }).symbols as Symbols<D>;
}

const i32 = "i32", u32 = "u32", i64 = "i64", u64 = "u64", P = "ptr";

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
  dlsym: { args: [P, P], returns: P },
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
  statfs: { args: [P, P], returns: i32 },
  getuid: { args: [], returns: i32 },
  mkdirat: { args: [i32, P, u64], returns: i32 },
  symlinkat: { args: [P, i32, P], returns: i32 },
  linkat: { args: [i32, P, i32, P, i32], returns: i32 },
  mknodat: { args: [i32, P, u64, u64], returns: i32 },
  unlinkat: { args: [i32, P, i32], returns: i32 },
  fchownat: { args: [i32, P, u64, u64, i32], returns: i32 },
  fchmodat: { args: [i32, P, u64, i32], returns: i32 },
  fchmod: { args: [i32, u64], returns: i32 },
  futimens: { args: [i32, P], returns: i32 },
  utimensat: { args: [i32, P, P, i32], returns: i32 },
  fsetxattr: { args: [i32, P, P, u64, i32], returns: i32 },
  lsetxattr: { args: [P, P, P, u64, i32], returns: i32 },
  getxattr: { args: [P, P, P, u64], returns: i64 },
  listxattr: { args: [P, P, u64], returns: i64 },
  socket: { args: [i32, i32, i32], returns: i32 },
  connect: { args: [i32, P, i32], returns: i32 },
  bind: { args: [i32, P, i32], returns: i32 },
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

type LibcSymbols = Symbols<typeof DECLS>;
/** The libc the compiled binary was built for: scripts/build.ts defines it (undefined from sources). */
declare const BUNC_LIBC: "glibc" | "musl" | undefined;
// From the build when there is one: no command need read its own /proc/self/maps for it.
const soname = libcSoname(process.arch, typeof BUNC_LIBC === "string" ? BUNC_LIBC === "musl" : detectMusl());
// errno is read right after a failed call: its accessor is bound before anything else runs.
const loaded: Partial<LibcSymbols> = bindSymbols(soname, { __errno_location: DECLS.__errno_location }) as Partial<LibcSymbols>;

/**
 * libc's symbols, each bound on first use: bun:ffi compiles a trampoline per symbol, and a
 * command uses a handful of the ~60 declared here (every bunc command is a fresh process).
 */
export const libc: LibcSymbols = new Proxy(loaded as LibcSymbols, {
  get(target, name: string) {
    const have = (target as any)[name];
    if (have) return have;
    const decl = (DECLS as Record<string, any>)[name];
    if (!decl) return undefined;
    // glibc before 2.33 (Debian 11) exports mknod and mknodat only as __xmknod*: the raw syscall
    const fn = name === "mknodat" ? (dirfd: number, path: Pointer, mode: bigint, dev: bigint) => Number(syscall(SYS.mknodat, dirfd, path, mode, dev))
      : name === "mknod" ? (path: Pointer, mode: bigint, dev: bigint) => Number(syscall(SYS.mknodat, -100, path, mode, dev))
      : name === "statx" ? bindOr(name, decl, (d: number, p: Pointer, f: number, m: number, b: Pointer) => Number(syscall(SYS.statx, d, p, f, m, b)))
      : bindSymbols(soname, { [name]: decl })[name];
    (target as any)[name] = fn;
    return fn;
  },
});

/** A symbol older libcs lack (musl before 1.2.5 has no statx): the raw syscall then. */
function bindOr(name: string, decl: any, fallback: (...args: any[]) => number): any {
  try {
    return bindSymbols(soname, { [name]: decl })[name];
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
  const a = args as any[]; // an argument left out or null is 0 (toI64)
  return libc.syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) as bigint;
}

/**
 * A raw syscall by its name in the arch table, traced and checked like every libc call. The
 * name may say what the call was for, as errors show it: "mount_setattr(MOUNT_ATTR_IDMAP)".
 */
export function checkedSyscall(name: SyscallName | `${SyscallName}(${string})`, args: (number | bigint | Pointer | null)[], path?: string): bigint {
  const nr = SYS[name.replace(/\(.*$/, "") as SyscallName];
  return check(name, syscall(nr, ...args), path);
}
