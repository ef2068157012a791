// One error type: every kind of bunc error is a BuncError, and context added on the way up
// keeps the errno, its name and the exit status (only the CLI turns them into a line).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { asBuncError, BuncError, withContext } from "../../src/sys/errors";
import { SyscallError } from "../../src/sys/libc";
import { CgroupError } from "../../src/linux/cgroups/files";
import { HookError } from "../../src/runtime/hooks";
import { UnpackError } from "../../src/bundle/unpack";
import { ExecutableError } from "../../src/linux/process";

describe("errors", () => {
  test("every kind is a BuncError", () => {
    for (const e of [new SyscallError("mount", 1, "/x"), new CgroupError("c"), new HookError("h"), new UnpackError("u"), new ExecutableError("x", 127)])
      expect(e).toBeInstanceOf(BuncError);
  });

  test("a syscall's errno and name survive each layer's context", () => {
    const e = withContext("mounts[2] (/proc)", withContext("create c1", new SyscallError("mount", 1, "/proc")));
    expect(e.message).toBe("mounts[2] (/proc): create c1: mount /proc: EPERM");
    expect(e.errno).toBe(1);
    expect(e.code).toBe("EPERM");
    expect(e.exitCode).toBe(1);
    expect((e.cause as BuncError).cause).toBeInstanceOf(SyscallError);
  });

  test("node's fs errors keep errno and code; exit statuses are kept", () => {
    let fsError: unknown;
    try {
      readFileSync("/nonexistent/bunc-errors-test");
    } catch (e) {
      fsError = e;
    }
    const e = withContext("process.cwd", fsError);
    expect(e.code).toBe("ENOENT");
    expect(e.errno).toBe(2);
    expect(withContext("start", new BuncError("paused", 3)).exitCode).toBe(3);
    expect(new ExecutableError("exec: no such file", 127).exitCode).toBe(1); // bunc's status; the process's is 127
    expect(asBuncError("plain string").message).toBe("plain string");
  });

  test("messages are one line", () => {
    expect(new BuncError("a\nb").message).toBe("a\\u000ab");
  });
});

test("errno numbers from native code are named", () => {
  const { namedErrnos } = require("../../src/sys/errno") as typeof import("../../src/sys/errno");
  expect(namedErrnos("nsexec: cannot execute bunc init: errno 13")).toBe("nsexec: cannot execute bunc init: EACCES");
});
