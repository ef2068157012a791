// Terminals through RecordingSyscalls: a pty pair from the calling thread's /dev/ptmx,
// and the slave taken as controlling terminal and stdio right before exec.
import { describe, expect, test } from "bun:test";
import { openPty, setWindowSize, takeTerminal } from "../../src/linux/terminal";
import { O } from "../../src/sys/arch";
import { RecordingSyscalls } from "../support/recording-syscalls";

const ops = (sys: RecordingSyscalls) => sys.calls.map((c) => [c.op, ...c.args]);
const PTY_FLAGS = O.RDWR | O.NOCTTY | O.CLOEXEC;

describe("openPty", () => {
  test("master from /dev/ptmx, unlocked; the slave its /dev/pts/N; the window size when known", () => {
    const sys = new RecordingSyscalls({ ptyNumber: 7 });
    const pty = openPty({ height: 24, width: 80 }, sys);
    expect(pty.name).toBe("/dev/pts/7");
    expect(ops(sys)).toEqual([
      ["open", "/dev/ptmx", PTY_FLAGS],
      ["ptyUnlock", pty.master],
      ["ptyNumber", pty.master],
      ["open", "/dev/pts/7", PTY_FLAGS],
      ["setWindowSize", pty.master, 24, 80],
    ]);
    expect(pty.slave).not.toBe(pty.master);
  });
  test("no size: the window is left as the kernel makes it", () => {
    const sys = new RecordingSyscalls();
    openPty(undefined, sys);
    expect(sys.of("setWindowSize")).toEqual([]);
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
