// Needs root. runc's --pidfd-socket (create, run, exec): the socket receives a pidfd of
// the container's init or of the exec'd process.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const uid = () => "pf" + Math.random().toString(36).slice(2, 7);
const hasPython = Bun.spawnSync(["python3", "-c", "import socket; socket.recv_fds"]).exitCode === 0;

/** Accepts one connection, takes the fd and prints the pid its fdinfo names. */
const RECEIVER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 64, 1)
link = os.readlink("/proc/self/fd/%d" % fds[0])
pid = [l.split()[1] for l in open("/proc/self/fdinfo/%d" % fds[0]) if l.startswith("Pid:")][0]
print(link, pid, flush=True)
`;

async function receiver(sock: string) {
  const p = Bun.spawn(["python3", "-c", RECEIVER, sock], { stdout: "pipe" });
  for (let i = 0; i < 500 && !existsSync(sock); i++) Bun.sleepSync(10);
  return p;
}

describe.skipIf(!isRoot || !hasPython)("--pidfd-socket (root)", () => {
  test("create sends a pidfd of the init; exec one of the new process", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["sleep", "30"]);
    const sock = join(sb.dir, `${id}.sock`);
    const r = await receiver(sock);
    const pidFile = join(sb.dir, `${id}.pid`);
    try {
      sb.ok(["create", "-b", b, "--pid-file", pidFile, "--pidfd-socket", sock, id]);
      const got = (await new Response(r.stdout).text()).trim();
      expect(got).toBe(`anon_inode:[pidfd] ${require("node:fs").readFileSync(pidFile, "utf8").trim()}`);
      sb.ok(["start", id]);
      const sock2 = join(sb.dir, `${id}-exec.sock`);
      const r2 = await receiver(sock2);
      const execPid = join(sb.dir, `${id}-exec.pid`);
      sb.ok(["exec", "-d", "--pid-file", execPid, "--pidfd-socket", sock2, id, "sleep", "5"]);
      expect((await new Response(r2.stdout).text()).trim()).toBe(`anon_inode:[pidfd] ${require("node:fs").readFileSync(execPid, "utf8").trim()}`);
    } finally {
      r.kill(9);
      sb.run(["delete", "--force", id]);
    }
  });

  test("a missing socket fails create with nothing left behind", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["true"]);
    const res = sb.run(["create", "-b", b, "--pidfd-socket", join(sb.dir, "nosuch.sock"), id]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("--pidfd-socket");
    expect(sb.containers()).toEqual([]);
  });
});
void BUNC;
