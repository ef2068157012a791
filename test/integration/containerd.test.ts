// containerd (Debian's 1.6, started here with its state under a temporary directory and
// no CRI plugin) running bunc through its io.containerd.runc.v2 shim:
// `ctr run --runc-binary dist/bunc --runc-root <dir>`. The shim calls bunc with
// `--root <dir>/<namespace> --log <bundle>/log.json --log-format json` and reads bunc's
// last JSON error line to report failures. The image is an OCI archive built here from
// the Alpine minirootfs tarball and imported with `ctr images import`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../support/harness";
import { Containerd, engineSkipReason } from "../support/engines";

const skipReason = engineSkipReason(["containerd"], ["containerd", "ctr", "containerd-shim-runc-v2"]);
if (skipReason) console.warn(`containerd tests skipped: ${skipReason}`);

describe.skipIf(!!skipReason)("containerd (ctr, runc shim) with bunc", () => {
  let cd: Containerd;
  let img: string;
  const run = (flags: string[], id: string, cmd: string[]) => cd.ctr(["run", ...cd.runtimeFlags(), ...flags, img, id, ...cmd]);
  const taskStatus = (id: string) => cd.ok(["task", "ls"]).split("\n").find((l) => l.split(/\s+/)[0] === id)?.split(/\s+/)[2];
  const buncState = () => {
    const root = join(cd.buncRoot, cd.namespace);
    return existsSync(root) ? readdirSync(root) : [];
  };

  beforeAll(async () => {
    cd = new Containerd();
    img = cd.image;
    await cd.start();
    cd.importAlpine();
  });

  afterAll(async () => {
    await cd?.stop();
  });

  test("ctr run --rm: output, exit status, nothing left behind", () => {
    const r = run(["--rm"], "echo", ["echo", "hi"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(0);
    expect(run(["--rm"], "exit7", ["sh", "-c", "exit 7"]).code).toBe(7);
    // The shim's `delete` and then `delete --force` of the deleted container both succeeded.
    expect(buncState()).toEqual([]);
    expect(cd.ok(["containers", "ls", "-q"]).trim()).toBe("");
  });

  test("a failing create reaches ctr with bunc's message", () => {
    const r = run(["--rm"], "missing", ["/nonexistent"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/nonexistent");
    expect(buncState()).toEqual([]);
    cd.ctr(["containers", "delete", "missing"]);
  });

  test("ctr run --seccomp: the default profile is installed", () => {
    const r = run(["--rm", "--seccomp"], "seccomp", ["grep", "^Seccomp:", "/proc/self/status"]);
    expect(r.stdout).toBe("Seccomp:\t2\n");
    expect(r.code).toBe(0);
  });

  test("run -d, task exec, ps, pause/resume, kill, delete", async () => {
    const id = "life";
    cd.ok(["run", "-d", ...cd.runtimeFlags(), img, id, "sleep", "1000"]);
    expect(taskStatus(id)).toBe("RUNNING");
    expect(buncState()).toEqual([id]);

    const e = cd.ctr(["task", "exec", "--exec-id", "x1", id, "sh", "-c", "echo pid=$$; exit 3"]);
    expect(e.stdout).toMatch(/^pid=\d+\n$/);
    expect(e.stdout).not.toBe("pid=1\n"); // in the container's PID namespace, not its init
    expect(e.code).toBe(3);

    // bunc ps --format json: the host PIDs of the task.
    const ps = cd.ok(["task", "ps", id]).trim().split("\n");
    expect(ps[0]).toMatch(/^PID\s+INFO/);
    const pids = ps.slice(1).map((l) => Number(l.split(/\s+/)[0]));
    const initPid = Number(cd.ok(["task", "ls"]).split("\n").find((l) => l.startsWith(id))!.split(/\s+/)[1]);
    expect(pids).toContain(initPid);

    cd.ok(["task", "pause", id]);
    expect(taskStatus(id)).toBe("PAUSED");
    expect(cd.ok(["task", "ls"])).toContain("PAUSED");
    cd.ok(["task", "resume", id]);
    expect(taskStatus(id)).toBe("RUNNING");
    expect(cd.ctr(["task", "exec", "--exec-id", "x2", id, "true"]).code).toBe(0);

    cd.ok(["task", "kill", "-s", "SIGKILL", id]);
    waitFor(() => taskStatus(id) === "STOPPED", `task ${id} to stop`);
    expect(taskStatus(id)).toBe("STOPPED");
    cd.ok(["task", "delete", id]);
    expect(taskStatus(id)).toBeUndefined();
    expect(buncState()).toEqual([]);
    cd.ok(["container", "delete", id]);
    expect(cd.ok(["containers", "ls", "-q"]).trim()).toBe("");
  });

  test("task delete --force of a running task", () => {
    cd.ok(["run", "-d", ...cd.runtimeFlags(), img, "forced", "sleep", "1000"]);
    expect(taskStatus("forced")).toBe("RUNNING");
    cd.ok(["task", "delete", "--force", "forced"]);
    expect(taskStatus("forced")).toBeUndefined();
    expect(buncState()).toEqual([]);
    cd.ok(["container", "delete", "forced"]);
  });

  test("task kill with the default SIGTERM reaches a trapping init", async () => {
    cd.ok(["run", "-d", ...cd.runtimeFlags(), img, "term", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
    cd.ok(["task", "kill", "term"]);
    waitFor(() => taskStatus("term") === "STOPPED", "task term to stop");
    expect(taskStatus("term")).toBe("STOPPED");
    cd.ok(["task", "delete", "term"]);
    cd.ok(["container", "delete", "term"]);
  });

  test("ctr run -t and task exec -t: terminals through the shim's console socket", () => {
    const q = (a: string[]) => a.map((x) => `'${x.replace(/'/g, "'\\''")}'`).join(" ");
    const ctr = ["ctr", "--address", cd.address, "--namespace", cd.namespace];
    const inPty = (args: string[]) => {
      const p = Bun.spawnSync(["script", "-qec", `${q([...ctr, ...args])}; echo "EXIT=$?"`, "/dev/null"], { stdin: "ignore", timeout: 60_000 });
      return p.stdout.toString().replace(/\r/g, "");
    };
    const out = inPty(["run", "--rm", "-t", ...cd.runtimeFlags(), img, "tty1", "sh", "-c", "tty; exit 3"]);
    expect(out).toMatch(/\/dev\/pts\/\d+\n/);
    expect(out).toContain("EXIT=3");
    cd.ok(["run", "-d", ...cd.runtimeFlags(), img, "tty2", "sleep", "300"]);
    try {
      const e = inPty(["task", "exec", "-t", "--exec-id", "t1", "tty2", "sh", "-c", "tty; exit 4"]);
      expect(e).toMatch(/\/dev\/pts\/\d+\n/);
      expect(e).toContain("EXIT=4");
    } finally {
      cd.ctr(["task", "kill", "-s", "SIGKILL", "tty2"]);
      waitFor(() => cd.ctr(["task", "delete", "tty2"]).code === 0, "task tty2 to be deleted");
      cd.ctr(["container", "delete", "tty2"]);
    }
  });
});
