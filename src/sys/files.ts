// Files by path and fd through libc's calls, not node:fs: loading node:fs costs a command
// ~0.9 ms of start-up and node:path ~0.35 ms more (README, Performance), while the FFI a
// command loads anyway costs ~0.4. What `state`, `start`, `delete` and `kill` do on their
// common path (state.json, /proc/<pid>/stat, the exec fifo, a lock, empty cgroups) is here.
import { ptr } from "bun:ffi";
import { O } from "./arch";
import { check, cstr, errno, libc, SyscallError } from "./libc";

const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const F_OK = 0;
const EINTR = 4;
const EAGAIN = 11;
const decoder = new TextDecoder();

/** open(2), close-on-exec; throws a SyscallError (code ENOENT, ...) naming the path. */
export function openPath(path: string, flags: number, mode = 0): number {
  const name = cstr(path);
  return check("open", libc.open(ptr(name), flags | O.CLOEXEC, BigInt(mode)), path);
}

export function closeFd(fd: number): void {
  libc.close(fd);
}

/** read(2) into `buf` (retried on EINTR): the byte count, 0 at EOF; EAGAIN and the rest throw. */
export function readFd(fd: number, buf: Uint8Array, path?: string): number {
  for (;;) {
    const n = Number(libc.read(fd, ptr(buf), BigInt(buf.length)));
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) throw new SyscallError("read", e, path);
  }
}

/**
 * All of `data` to `fd`, as the CLI prints: a full non-blocking pipe is waited for, and a
 * closed one (EPIPE, EBADF) ends the write quietly (nothing more can be said there).
 */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) {
    const n = Number(libc.write(fd, ptr(data, off), BigInt(data.length - off)));
    if (n >= 0) {
      off += n;
      continue;
    }
    const e = errno();
    if (e === EAGAIN) Bun.sleepSync(1);
    else if (e !== EINTR) return;
  }
}

/** The whole file as UTF-8. */
export function readText(path: string): string {
  const fd = openPath(path, O.RDONLY);
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (let size = 16384; ; size = Math.min(size * 2, 1 << 20)) {
      const buf = new Uint8Array(size);
      const n = readFd(fd, buf, path);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    if (chunks.length === 1) return decoder.decode(chunks[0]);
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of chunks) { all.set(c, off); off += c.length; }
    return decoder.decode(all);
  } finally {
    closeFd(fd);
  }
}

/** existsSync's answer (symlinks followed, any error is "no"), by faccessat: a fifo is not opened. */
export function pathExists(path: string): boolean {
  const name = cstr(path);
  return libc.faccessat(AT_FDCWD, ptr(name), F_OK, 0) === 0;
}

export function unlinkPath(path: string): void {
  const name = cstr(path);
  check("unlink", libc.unlinkat(AT_FDCWD, ptr(name), 0), path);
}

/** rmdir(2): an empty directory (or cgroup) only. */
export function removeDirectory(path: string): void {
  const name = cstr(path);
  check("rmdir", libc.unlinkat(AT_FDCWD, ptr(name), AT_REMOVEDIR), path);
}
