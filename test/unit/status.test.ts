// Which operation runs in which status, and the errors (runc's wording) of those refused.
import { describe, expect, test } from "bun:test";
import { allows, requireStatus, STATUSES, type Operation, type Status } from "../../src/runtime/status";
import { BuncError } from "../../src/sys/errors";

const ALLOWED: Record<Operation, Status[]> = {
  start: ["created"],
  kill: ["created", "running", "paused"],
  "kill --all": ["created", "running", "paused", "stopped"],
  pause: ["created", "running"],
  resume: ["paused"],
  delete: ["created", "stopped"],
  exec: ["created", "running"],
  "exec --ignore-paused": ["created", "running", "paused"],
  update: ["created", "running", "paused"],
  stats: ["created", "running", "paused"],
  ps: ["created", "running", "paused"],
};

describe("the status table", () => {
  for (const [op, allowed] of Object.entries(ALLOWED) as [Operation, Status[]][]) {
    test(`${op}: ${allowed.join(", ")}`, () => {
      for (const s of STATUSES) expect(`${s}: ${allows(op, s)}`).toBe(`${s}: ${allowed.includes(s)}`);
    });
  }
  test("no operation but reading the state runs while a create is under way", () => {
    for (const op of Object.keys(ALLOWED) as Operation[]) expect(allows(op, "creating")).toBe(false);
  });
});

describe("requireStatus", () => {
  const box = (status: Status) => ({ id: "c1", status: () => status });
  const refusal = (op: Exclude<Operation, "ps">, status: Status) => {
    try {
      requireStatus(box(status), op);
    } catch (e) {
      expect(e).toBeInstanceOf(BuncError);
      return (e as BuncError).message;
    }
    throw new Error(`${op} allowed in ${status}`);
  };

  test("returns the status it allowed, derived once or given", () => {
    expect(requireStatus(box("created"), "start")).toBe("created");
    expect(requireStatus({ id: "c1", status: () => { throw new Error("derived again"); } }, "pause", "running")).toBe("running");
  });

  test("refusals carry the messages the CLI has always printed", () => {
    expect(refusal("start", "running")).toBe("cannot start a container that is running");
    expect(refusal("start", "stopped")).toBe("cannot start a container that is stopped");
    expect(refusal("kill", "stopped")).toBe("container not running");
    expect(refusal("pause", "paused")).toBe("cannot pause a container that is paused");
    expect(refusal("pause", "stopped")).toBe("cannot pause a container that is stopped");
    expect(refusal("resume", "running")).toBe("cannot resume a container that is running");
    expect(refusal("delete", "running")).toBe("cannot delete container c1 that is not stopped: running");
    expect(refusal("delete", "paused")).toBe("cannot delete container c1 that is not stopped: paused");
    expect(refusal("exec", "paused")).toBe("cannot exec in a paused container (use --ignore-paused to override)");
    expect(refusal("exec", "stopped")).toBe("cannot exec in a stopped container");
    expect(refusal("exec", "creating")).toBe("cannot exec in a creating container");
    expect(refusal("exec --ignore-paused", "stopped")).toBe("cannot exec in a stopped container");
    expect(refusal("update", "stopped")).toBe("cannot update a stopped container");
    expect(refusal("stats", "stopped")).toBe("container c1 is not running");
  });
});
