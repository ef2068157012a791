// Pipes, and blocking reads of the sockets and pipes bunc shares with its native stages.
import { readFd } from "./files";
import { check, cstr, errno, libc, SyscallError, ptr } from "./libc";
import { O } from "./arch";

/** A close-on-exec pipe: [read end, write end]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", libc.pipe2(ptr(fds), O.CLOEXEC));
  return [fds[0]!, fds[1]!];
}

export const POLLIN = 0x1, POLLOUT = 0x4, POLLHUP = 0x10;

/**
 * Waits up to `timeoutMs` for `fd` to be readable or hung up: its revents (POLLIN, POLLHUP,
 * ...), 0 on timeout. (A FIFO whose writer never came is neither: poll waits for it.)
 */
export function pollIn(fd: number, timeoutMs: number): number {
  return pollFd(fd, POLLIN, timeoutMs);
}

/** Waits up to `timeoutMs` for any of `events` on `fd` (or an error or hang-up): its revents, 0 on timeout. */
export function pollFd(fd: number, events: number, timeoutMs: number): number {
  const pfd = new Int32Array([fd, events]); // struct pollfd { int fd; short events; short revents; }
  for (;;) {
    const n = libc.poll(ptr(pfd), 1n, timeoutMs);
    if (n >= 0) return n === 0 ? 0 : (pfd[1]! >>> 16) & 0xffff;
    const e = errno();
    if (e !== 4 /* EINTR: a signal for bunc; wait again */) throw new SyscallError("poll", e);
  }
}

/** A named pipe at `path` (mode before the umask). */
export function mkfifo(path: string, mode: number): void {
  check("mkfifo", libc.mkfifo(ptr(cstr(path)), BigInt(mode)), path);
}

/** A close-on-exec copy of `fd` numbered at least `min` (F_DUPFD_CLOEXEC). */
export function dupAbove(fd: number, min: number): number {
  return check("fcntl(F_DUPFD_CLOEXEC)", libc.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, BigInt(min)));
}

/** Everything until EOF (or a reset connection) from a blocking fd, or until `enough` says so. */
export function readToEnd(fd: number, enough: (got: Uint8Array) => boolean = () => false): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(256);
  for (;;) {
    let n: number;
    try {
      n = readFd(fd, buf);
    } catch (e: any) {
      if (e.code === "EINTR" || e.code === "EAGAIN") continue;
      if (e.code === "ECONNRESET") break;
      throw e;
    }
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
    if (enough(Buffer.concat(chunks))) break;
  }
  return Buffer.concat(chunks);
}

/** At most `n` bytes, blocking until they are there or EOF. */
export function readUpTo(fd: number, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    let r: number;
    try {
      r = readFd(fd, buf.subarray(got));
    } catch (e: any) {
      if (e.code === "EINTR" || e.code === "EAGAIN") continue;
      if (e.code === "ECONNRESET") break;
      throw e;
    }
    if (r <= 0) break;
    got += r;
  }
  return buf.subarray(0, got);
}
