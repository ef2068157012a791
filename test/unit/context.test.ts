// The library writes nothing to stderr: an operation's warnings and --debug traces go to the
// logger of its RuntimeContext. No root needed: the containers are hand-written state.json
// records under a temporary --root (a dead init, or this test process as a "running" one).
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeContext, type Logger } from "../../src/runtime/context";
import { claimStateDir, readProcStat, writeStateAtomically, type StoredState } from "../../src/runtime/state";
import { deleteContainer } from "../../src/runtime/delete";
import { killContainer } from "../../src/runtime/kill";
import { updateContainer } from "../../src/runtime/update";
import { detectLayout } from "../../src/linux/cgroups";
import { dupAbove } from "../../src/sys/io";
import { linuxSyscalls } from "../../src/sys/syscalls";

const dir = mkdtempSync(join(tmpdir(), "bunc-context-"));
const root = join(dir, "state");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A record in `root` whose init is `pid` (alive or not), as create leaves it. */
function container(id: string, pid: number, extra: Partial<StoredState>, config: object = {}): void {
  const d = claimStateDir(root, id);
  const startTime = readProcStat(pid)?.startTime ?? "0";
  writeStateAtomically(d, {
    ociVersion: "1.3.0", id, pid, pidStartTime: startTime, bundle: dir, rootfs: join(dir, "rootfs"), created: new Date().toISOString(),
    owner: "root", config: { ociVersion: "1.3.0", linux: { namespaces: [] }, ...config } as any, ...extra,
  });
}

/** What `fn` wrote to stderr: fd 2 itself (write(2), console.error) and process.stderr.write. */
function stderrOf(fn: () => void): string {
  const file = join(dir, "stderr");
  const saved = dupAbove(2, 10);
  const fd = openSync(file, "w");
  linuxSyscalls.dup2(fd, 2);
  closeSync(fd);
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (written.push(String(s)), true)) as any;
  try {
    fn();
  } finally {
    process.stderr.write = write;
    linuxSyscalls.dup2(saved, 2);
    closeSync(saved);
  }
  return readFileSync(file, "utf8") + written.join("");
}

function recording(): Logger & { warnings: string[]; traces: string[] } {
  const warnings: string[] = [], traces: string[] = [];
  return { warnings, traces, warn: (m) => warnings.push(m), debug: (m) => traces.push(m) };
}

const deadPid = () => Bun.spawnSync(["true"]).pid;

describe("operations report to the context's logger, never to stderr", () => {
  test("delete: a failing poststop hook is a warning; the steps are traced", () => {
    const log = recording();
    container("hooked", deadPid(), { cgroupPaths: { "": join(dir, "gone"), memory: join(dir, "gone") } }, { hooks: { poststop: [{ path: join(dir, "no-such-hook") }] } });
    const stderr = stderrOf(() => deleteContainer(runtimeContext(root, log), "hooked"));
    expect(stderr).toBe("");
    expect(log.warnings).toEqual([`error running poststop hook #0: ${join(dir, "no-such-hook")}: ENOENT`]);
    expect(log.traces.some((t) => t.startsWith("delete hooked: state directory"))).toBe(true);
    expect(existsSync(join(root, "hooked"))).toBe(false);
  });

  test("kill --all of a stopped container without cgroups: nothing to say", () => {
    const log = recording();
    container("bare", deadPid(), {});
    expect(stderrOf(() => killContainer(runtimeContext(root, log), "bare", 15, true))).toBe("");
    expect(log.warnings).toEqual([]);
  });

  test.skipIf(!detectLayout().controllers.memory)("update: an ignored setting is a warning", () => {
    const log = recording();
    const cg = join(dir, "cg");
    mkdirSync(cg, { recursive: true });
    // This test process plays the running init; its "cgroup" is a plain directory.
    container("running", process.pid, { cgroupPaths: { "": cg, memory: cg } });
    const stderr = stderrOf(() => updateContainer(runtimeContext(root, log), "running", { memory: { kernel: 1 << 20 } }));
    expect(stderr).toBe("");
    expect(log.warnings).toEqual(["linux.resources.memory.kernel: kernel memory limits are deprecated and ignored"]);
  });

  test("the default logger is silent", () => {
    container("quiet", deadPid(), {}, { hooks: { poststop: [{ path: join(dir, "no-such-hook") }] } });
    expect(stderrOf(() => deleteContainer(runtimeContext(root), "quiet"))).toBe("");
  });
});
