// State logic without root: ids, the status derived from the init (alive, same start
// time, exec fifo), the view of `state`, atomic writes and id claims, the keyring exec
// joins, and signals.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  claimStateDir, Container, FIFO, isAlive, listContainers, loadContainer, readProcStat, stateAndStartTime, validateId, writeStateAtomically, type StoredState,
} from "../../src/runtime/state";
import { parseSignal } from "../../src/runtime/signals";
import { exitCodeOf } from "../../src/runtime/wait";
import { BuncError } from "../../src/sys/errors";
import { execKeyringName, keyringSearchPerm } from "../../src/linux/keyring";

const dir = mkdtempSync(join(tmpdir(), "bunc-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stored(id: string, pid: number, pidStartTime: string): StoredState {
  return {
    ociVersion: "1.2.0", id, pid, pidStartTime, bundle: "/b", rootfs: "/b/rootfs", created: new Date().toISOString(),
    owner: "root", config: {} as any, annotations: { a: "b" },
  };
}

/** A pid that is not running (spawned and reaped). */
function deadPid(): number {
  const p = Bun.spawnSync(["true"]);
  return p.pid;
}

describe("container ids", () => {
  test("valid ids", () => {
    for (const id of ["a", "abc-1.2_3+x", "A9"]) expect(validateId(id)).toBe(id);
  });
  test("invalid ids are errors", () => {
    for (const id of ["", undefined, "a/b", "..", ".", "../x", "-x", "a b", "x".repeat(1025)])
      expect(() => validateId(id as any)).toThrow(BuncError);
  });
});

describe("status derivation", () => {
  const self = readProcStat(process.pid)!;
  test("readProcStat reads state and start time of a live process", () => {
    expect(self.state).toMatch(/^[RS]$/);
    expect(self.startTime).toMatch(/^\d+$/);
    expect(readProcStat(deadPid())).toBeUndefined();
  });
  test("readProcStat reads the fields after a comm holding spaces and parentheses", async () => {
    // The shell renames itself, says so, then waits on its stdin.
    const sh = Bun.spawn(["sh", "-c", "printf 'a) b (c' > /proc/$$/comm && echo ready && read -r x"], { stdin: "pipe", stdout: "pipe" });
    try {
      await sh.stdout.getReader().read();
      const st = readProcStat(sh.pid)!;
      expect(st).toMatchObject({ comm: "a) b (c", ppid: process.pid, threads: 1 });
      expect(st.state).toMatch(/^[RS]$/);
      expect(st.vsizeBytes).toBeGreaterThan(0);
      expect(Number(st.startTime)).toBeGreaterThanOrEqual(Number(self.startTime));
    } finally {
      sh.kill();
      await sh.exited;
    }
  });
  test("stateAndStartTime cuts fields 3 and 22 out as readProcStat reads them, past a comm with spaces and parentheses", () => {
    const rest = Array.from({ length: 49 }, (_, i) => String(100 + i)); // fields 4..52
    const line = (comm: string, state: string) => `4242 (${comm}) ${state} ${rest.join(" ")}\n`;
    for (const comm of ["sleep", "a) b (c", ") )", ""]) expect(stateAndStartTime(line(comm, "S"))).toEqual({ state: "S", startTime: rest[22 - 4]! });
    expect(stateAndStartTime(line("x", "Z"))!.state).toBe("Z");
    expect(stateAndStartTime(`4242 (x) S ${rest.slice(0, 18).join(" ")}`)).toBeUndefined(); // cut short before field 22
    expect(stateAndStartTime("garbage")).toBeUndefined();
    expect(stateAndStartTime(readFileSync(`/proc/${process.pid}/stat`, "utf8"))).toEqual({ state: self.state, startTime: self.startTime });
  });
  test("isAlive: same pid and start time; a dead or reused pid is not", () => {
    expect(isAlive(process.pid, self.startTime)).toBe(true);
    expect(isAlive(process.pid, String(Number(self.startTime) + 1))).toBe(false); // reused pid
    expect(isAlive(deadPid(), self.startTime)).toBe(false);
    expect(isAlive(0, self.startTime)).toBe(false);
  });
  test("created while the exec fifo exists, running after, stopped when the init is gone", () => {
    const d = claimStateDir(join(dir, "root1"), "c1");
    const c = new Container(join(dir, "root1"), d, stored("c1", process.pid, self.startTime));
    writeFileSync(join(d, FIFO), "");
    expect(c.status()).toBe("created");
    rmSync(join(d, FIFO));
    expect(c.status()).toBe("running");
    expect(c.view()).toMatchObject({ id: "c1", pid: process.pid, status: "running", annotations: { a: "b" } });
    c.state.pidStartTime = "1"; // the pid now belongs to another process
    expect(c.status()).toBe("stopped");
    expect(c.view().pid).toBe(0);
    expect(c.hookState().pid).toBeUndefined();
    const dead = new Container(join(dir, "root1"), d, stored("c1", deadPid(), self.startTime));
    writeFileSync(join(d, FIFO), "");
    expect(dead.status()).toBe("stopped");
  });
});

describe("state files", () => {
  test("claimStateDir: exactly one claim of an id wins", () => {
    const root = join(dir, "root2");
    claimStateDir(root, "x");
    expect(() => claimStateDir(root, "x")).toThrow(/already exists/);
    expect(() => claimStateDir(root, "../x")).toThrow(/invalid container id/);
  });
  test("written atomically, loaded back, listed; a directory without state.json is skipped", () => {
    const root = join(dir, "root3");
    const d = claimStateDir(root, "s");
    claimStateDir(root, "half"); // being created: no state.json yet
    writeStateAtomically(d, stored("s", 123, "1"));
    expect(readdirSync(d)).toEqual(["state.json"]);
    expect(loadContainer(root, "s").state.pid).toBe(123);
    expect(listContainers(root).map((c) => c.id)).toEqual(["s"]);
    expect(() => loadContainer(root, "nope")).toThrow(/does not exist/);
    writeFileSync(join(d, "state.json"), "{");
    expect(() => loadContainer(root, "s")).toThrow(/corrupt/);
    expect(existsSync(join(d, ".state.json.tmp"))).toBe(false);
    void readFileSync;
  });
  test("the session keyring exec joins: _ses.<id>, none after --no-new-keyring; a state from before the flag joins", () => {
    const root = join(dir, "root4");
    const old = claimStateDir(root, "old"), kept = claimStateDir(root, "kept");
    writeFileSync(join(old, "state.json"), JSON.stringify(stored("old", 1, "1"))); // no noNewKeyring field
    writeStateAtomically(kept, { ...stored("kept", 1, "1"), noNewKeyring: true });
    expect(execKeyringName(loadContainer(root, "old").state)).toBe("_ses.old");
    expect(execKeyringName(loadContainer(root, "kept").state)).toBe("");
  });
  test("create makes its keyring searchable by its owner (exec's process), and by others in a user namespace as runc", () => {
    expect(keyringSearchPerm(false)).toBe(0x80000);
    expect(keyringSearchPerm(true)).toBe(0x80008);
  });
});

describe("parseSignal", () => {
  test("names with or without SIG, numbers, default TERM", () => {
    expect(parseSignal(undefined)).toBe(15);
    expect(parseSignal("")).toBe(15);
    expect(parseSignal("KILL")).toBe(9);
    expect(parseSignal("SIGKILL")).toBe(9);
    expect(parseSignal("sigusr1")).toBe(10);
    expect(parseSignal("9")).toBe(9);
    expect(parseSignal("RTMIN")).toBe(34);
    expect(parseSignal("RTMIN+2")).toBe(36);
    expect(parseSignal("RTMAX")).toBe(64);
  });
  test("invalid signals are errors", () => {
    for (const s of ["FOO", "65", "-1", "SIG"]) expect(() => parseSignal(s)).toThrow(BuncError);
  });
  test("signal 0 checks that the process exists, as kill(2) and runc", () => {
    expect(parseSignal("0")).toBe(0);
  });
  test("exit codes: status, or 128+signal", () => {
    expect(exitCodeOf(42 << 8)).toBe(42);
    expect(exitCodeOf(9)).toBe(137);
  });
});
