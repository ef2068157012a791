// Pipes, and blocking reads of the sockets and pipes bunc shares with its native stages.
import { readSync } from "node:fs";
import { ptr } from "bun:ffi";
import { check, cstr, libc } from "./libc";
import { O } from "./arch";

/** A close-on-exec pipe: [read end, write end]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", libc.pipe2(ptr(fds), O.CLOEXEC));
  return [fds[0]!, fds[1]!];
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
      n = readSync(fd, buf);
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
      r = readSync(fd, buf, got, n - got, null);
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
