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
import { spawnProgram } from "../../src/sys/spawn";
import { waitpid } from "../../src/sys/proc";

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

test("spawnProgram: of bunc's close-on-exec fds only the listed ones reach the program, at their own numbers", () => {
  const [r, w] = pipe();
  const [r2, w2] = pipe();
  try {
    // Both write ends are close-on-exec here; w is listed, w2 is not.
    // sh's builtin test looks at its own fds (dash cannot redirect to an fd above 9).
    const script = `for fd in ${w} ${w2}; do if [ -e /proc/self/fd/$fd ]; then echo open; else echo closed; fi; done >/proc/self/fd/${w}`;
    const pid = spawnProgram("/bin/sh", ["sh", "-c", script], [], [w]);
    closeSync(w);
    closeSync(w2);
    const buf = new Uint8Array(64);
    let out = "";
    for (let n; (n = readSync(r, buf)) > 0; ) out += new TextDecoder().decode(buf.subarray(0, n));
    expect(out).toBe("open\nclosed\n");
    expect(waitpid(pid).status).toBe(0);
    // Still close-on-exec in bunc: the clearing happened in the child alone.
    expect(linuxSyscalls.fcntl(r, F_GETFD, 0) & FD_CLOEXEC).toBe(FD_CLOEXEC);
  } finally {
    closeSync(r);
    closeSync(r2);
  }
});

test("spawnProgram: a program that cannot run is an error naming it", () => {
  expect(() => spawnProgram("/nonexistent/prog", ["prog"], [], [])).toThrow(/posix_spawn.*\/nonexistent\/prog|\/nonexistent\/prog.*ENOENT/);
});
