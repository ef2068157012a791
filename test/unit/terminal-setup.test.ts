// Terminals through RecordingSyscalls: a pty pair from the calling thread's /dev/ptmx,
// and the slave taken as controlling terminal and stdio right before exec.
import { describe, expect, test } from "bun:test";
import { afterAll } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPtyInRoot, setWindowSize, takeTerminal } from "../../src/linux/terminal";
import { O } from "../../src/sys/arch";
import { RecordingSyscalls } from "../support/recording-syscalls";

const ops = (sys: RecordingSyscalls) => sys.calls.map((c) => [c.op, ...c.args]);
const PTY_FLAGS = O.RDWR | O.NOCTTY | O.CLOEXEC;

describe("openPtyInRoot", () => {
  // A stand-in root with a dev/ptmx file: openat2 is real (no privilege needed), the pty ioctls recorded.
  const root = mkdtempSync(join(tmpdir(), "bunc-pty-"));
  mkdirSync(join(root, "dev"));
  writeFileSync(join(root, "dev/ptmx"), "");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("master from dev/ptmx inside the root, unlocked; the slave from the master; the window size when known", () => {
    const sys = new RecordingSyscalls({ ptyNumber: 7 });
    const rootFd = openSync(root, O.PATH | O.DIRECTORY);
    try {
      const pty = openPtyInRoot(rootFd, { height: 24, width: 80 }, sys);
      expect(pty.name).toBe("/dev/pts/7");
      expect(ops(sys)).toEqual([
        ["openInRoot", rootFd, "dev/ptmx", PTY_FLAGS, undefined],
        ["ptyUnlock", pty.master],
        ["ptyNumber", pty.master],
        ["ptyPeer", pty.master, PTY_FLAGS],
        ["setWindowSize", pty.master, 24, 80],
      ]);
      expect(pty.slave).not.toBe(pty.master);
      closeSync(pty.master);
    } finally {
      closeSync(rootFd);
    }
  });
  test("no size: the window is left as the kernel makes it", () => {
    const sys = new RecordingSyscalls();
    const rootFd = openSync(root, O.PATH | O.DIRECTORY);
    try {
      closeSync(openPtyInRoot(rootFd, undefined, sys).master);
      expect(sys.of("setWindowSize")).toEqual([]);
    } finally {
      closeSync(rootFd);
    }
  });
  test("setWindowSize passes rows, then columns", () => {
    const sys = new RecordingSyscalls();
    setWindowSize(9, 50, 132, sys);
    expect(ops(sys)).toEqual([["setWindowSize", 9, 50, 132]]);
  });
});

describe("takeTerminal", () => {
  test("a new session, the slave its controlling terminal and stdio, the extra fd closed", () => {
    const sys = new RecordingSyscalls();
    takeTerminal(100_123, sys);
    expect(ops(sys)).toEqual([
      ["setsid"], ["setControllingTerminal", 100_123],
      ["dup2", 100_123, 0], ["dup2", 100_123, 1], ["dup2", 100_123, 2],
      ["close", 100_123],
    ]);
  });
  test("a slave already on stdio stays open", () => {
    const sys = new RecordingSyscalls();
    takeTerminal(2, sys);
    expect(sys.of("close")).toEqual([]);
  });
  test("already a session leader (EPERM) is fine; any other setsid failure is not", () => {
    const leader = new RecordingSyscalls({ fail: (c) => (c.op === "setsid" ? 1 : undefined) });
    takeTerminal(2, leader);
    expect(leader.of("setControllingTerminal")).toHaveLength(1);
    const broken = new RecordingSyscalls({ fail: (c) => (c.op === "setsid" ? 12 /* ENOMEM */ : undefined) });
    expect(() => takeTerminal(2, broken)).toThrow(/ENOMEM/);
  });
});
