// Needs root. SCMP_ACT_NOTIFY with listenerPath: the seccomp agent gets the notify fd and
// the container process state, from the container's init and from each exec (runtime spec).
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const hasPython = Bun.spawnSync(["python3", "-c", "import socket; socket.recv_fds"]).exitCode === 0;

/** Accepts `n` connections: prints the fd's kind and the state's pid and metadata, then lets the fd go. */
const AGENT = `
import socket, sys, os, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(4)
for _ in range(int(sys.argv[2])):
    c, _ = s.accept()
    msg, fds, _, _ = socket.recv_fds(c, 65536, 1)
    st = json.loads(msg)
    print(os.readlink("/proc/self/fd/%d" % fds[0]), st["pid"], st["metadata"], st["fds"], flush=True)
    os.close(fds[0]); c.close()
`;

describe.skipIf(!isRoot || !hasPython)("seccomp notify (root)", () => {
  test("the agent gets a listener from the init and from an exec'd process", async () => {
    const id = "sn" + Math.random().toString(36).slice(2, 7);
    const sock = join(sb.dir, `${id}.sock`);
    const agent = Bun.spawn(["python3", "-c", AGENT, sock, "2"], { stdout: "pipe", stderr: "pipe" });
    for (let i = 0; i < 500 && !existsSync(sock); i++) Bun.sleepSync(10);
    const b = await sb.bundle(id, ["sleep", "30"], (c) => {
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: sock, listenerMetadata: "meta-1", syscalls: [{ names: ["mkdirat", "mkdir"], action: "SCMP_ACT_NOTIFY" }] };
    });
    try {
      const run = sb.run(["--debug", "run", "-d", "-b", b, id]);
      expect(run.code).toBe(0);
      expect(run.stderr).toContain("set up with"); // the create trace says who set the rootfs up:
      expect(run.stderr).toContain("(by bunc, pivot_root)"); // bunc's own thread, no Bun init
      const pid = JSON.parse(sb.ok(["state", id])).pid;
      const ex = sb.run(["exec", id, "true"]);
      expect(ex.stderr).toBe("");
      expect(ex.code).toBe(0);
      const lines = (await new Response(agent.stdout).text()).trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(`anon_inode:seccomp notify ${pid} meta-1 ['seccompFd']`);
      expect(lines[1]).toMatch(/^anon_inode:seccomp notify \d+ meta-1 \['seccompFd'\]$/);
      // The exec'd process's own pid: the agent reads that process's memory.
      expect(lines[1]).not.toContain(` ${pid} `);
    } finally {
      agent.kill(9);
      sb.run(["delete", "--force", id]);
    }
  });

  // runc's seccomp-notify.bats with the Bun init doing exec (BUNC_NATIVE_INIT=0): it had
  // never connected to the agent, so the exec'd process's notified calls failed with ENOSYS.
  test("exec through the Bun init sends its listener too, with its own pid", async () => {
    const id = "sn" + Math.random().toString(36).slice(2, 7);
    const sock = join(sb.dir, `${id}.sock`);
    const agent = Bun.spawn(["python3", "-c", AGENT, sock, "2"], { stdout: "pipe", stderr: "pipe" });
    for (let i = 0; i < 500 && !existsSync(sock); i++) Bun.sleepSync(10);
    const b = await sb.bundle(id, ["sleep", "30"], (c) => {
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: sock, listenerMetadata: "meta-2", syscalls: [{ names: ["mkdirat", "mkdir"], action: "SCMP_ACT_NOTIFY" }] };
    });
    try {
      sb.ok(["run", "-d", "-b", b, id]);
      const pid = JSON.parse(sb.ok(["state", id])).pid;
      const ex = sb.run(["exec", id, "true"], { env: { BUNC_NATIVE_INIT: "0" } });
      expect({ code: ex.code, stderr: ex.stderr }).toEqual({ code: 0, stderr: "" });
      const bound = setTimeout(() => agent.kill(9), 20_000); // (a listener never sent: the agent waits on)
      const lines = (await new Response(agent.stdout).text()).trim().split("\n");
      clearTimeout(bound);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^anon_inode:seccomp notify \d+ meta-2 \['seccompFd'\]$/);
      expect(lines[1]).not.toContain(` ${pid} `);
    } finally {
      agent.kill(9);
      sb.run(["delete", "--force", id]);
    }
  }, 40_000);

  // runc's seccomp-notify.bats: no agent at listenerPath fails create with one line that
  // names the field and what failed, leaving no container behind.
  test("no agent at listenerPath: one line naming it, nothing left", async () => {
    const id = "sn" + Math.random().toString(36).slice(2, 7);
    const sock = join(sb.dir, `${id}-none.sock`);
    const b = await sb.bundle(id, ["true"], (c) => {
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerPath: sock, syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] };
    });
    for (const env of [{}, { BUNC_HOST_SETUP: "0" }]) {
      const r = sb.run(["run", "-b", b, id], { env });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: `bunc: linux.seccomp.listenerPath: failed to connect with seccomp agent: connect ${sock}: ENOENT\n` });
      expect(sb.run(["state", id]).code).not.toBe(0);
      expect(existsSync(join(sb.root, id))).toBe(false);
    }
  });
});
