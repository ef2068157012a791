// fds of sys/: passing one over a unix socket pair (the received fd is a working copy, and
// close-on-exec, MSG_CMSG_CLOEXEC, so it never leaks into a program bunc or its init
// executes), pipes, copies above a floor, fifos.
import { expect, test } from "bun:test";
import { closeSync, mkdtempSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { recvFd, sendFd, socketPair } from "../../src/sys/socket";
import { dupAbove, mkfifo, pipe } from "../../src/sys/io";
import { linuxSyscalls } from "../../src/sys/syscalls";

const F_GETFD = 1, FD_CLOEXEC = 1;

test("recvFd: the fd arrives close-on-exec, with the message", () => {
  const [a, b] = socketPair();
  const [r, w] = pipe();
  try {
    sendFd(a, w, "hello");
    const got = recvFd(b);
    try {
      expect(got.data).toBe("hello");
      expect(linuxSyscalls.fcntl(got.fd, F_GETFD, 0) & FD_CLOEXEC).toBe(FD_CLOEXEC);
      writeSync(got.fd, "x");
      const buf = new Uint8Array(1);
      expect(readSync(r, buf)).toBe(1);
      expect(String.fromCharCode(buf[0]!)).toBe("x");
    } finally {
      closeSync(got.fd);
    }
  } finally {
    for (const fd of [a, b, r, w]) closeSync(fd);
  }
});

test("socketPair and pipe are close-on-exec", () => {
  for (const [x, y] of [socketPair(), pipe()]) {
    expect(linuxSyscalls.fcntl(x, F_GETFD, 0) & FD_CLOEXEC).toBe(FD_CLOEXEC);
    expect(linuxSyscalls.fcntl(y, F_GETFD, 0) & FD_CLOEXEC).toBe(FD_CLOEXEC);
    closeSync(x);
    closeSync(y);
  }
});

test("dupAbove: a close-on-exec copy numbered at least min; mkfifo: a named pipe", () => {
  const [r, w] = pipe();
  const copy = dupAbove(w, 200);
  try {
    expect(copy).toBeGreaterThanOrEqual(200);
    expect(linuxSyscalls.fcntl(copy, F_GETFD, 0) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  } finally {
    for (const fd of [r, w, copy]) closeSync(fd);
  }
  const dir = mkdtempSync(join(tmpdir(), "bunc-fifo-"));
  try {
    mkfifo(join(dir, "f"), 0o600);
    expect(statSync(join(dir, "f")).isFIFO()).toBe(true);
    expect(() => mkfifo(join(dir, "f"), 0o600)).toThrow(/mkfifo .*: EEXIST/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
