// Terminals (root): the console socket protocol (pty master over SCM_RIGHTS, as runc)
// and run/exec -t in the foreground under a real pty (util-linux `script`).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUNC, isRoot, fileSandbox, waitFor } from "../support/harness";

const sb = fileSandbox();

/** A console socket receiver: accepts one connection, takes the fd, copies the pty output to stdout. */
const RECEIVER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
print("name=" + msg.decode(), flush=True)
out = b""
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d: break
    out += d
sys.stdout.write(out.decode(errors="replace")); sys.stdout.flush()
`;

const hasScript = Bun.spawnSync(["which", "script"]).exitCode === 0;
const hasPython = Bun.spawnSync(["python3", "-c", "import socket; socket.recv_fds"]).exitCode === 0;

/** Runs a command under a fresh pty; returns what the terminal showed and the exit status. */
function underPty(cmd: string): { out: string; code: number } {
  const p = Bun.spawnSync(["script", "-qec", `${cmd}; echo "EXIT=$?"`, "/dev/null"], { stdin: "ignore", timeout: 30_000 });
  const out = p.stdout.toString().replace(/\r/g, "");
  return { out, code: Number(out.match(/EXIT=(\d+)/)?.[1] ?? -1) };
}

describe.skipIf(!isRoot)("terminals (root)", () => {
  test.skipIf(!hasPython)("create --console-socket sends the pty master; the process has a controlling terminal", async () => {
    const b = await sb.bundle("cs", ["sh", "-c", "tty; stty size; ls -l /dev/console | cut -c1; test -t 0 && echo stdin-is-tty"], (c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 25, width: 91 };
    });
    const sock = join(sb.dir, "console.sock");
    const recv = Bun.spawn(["python3", "-c", RECEIVER, sock], { stdout: "pipe" });
    waitFor(() => existsSync(sock), "the console socket receiver to listen");
    sb.ok(["create", "-b", b, "--console-socket", sock, "cs"]);
    sb.ok(["start", "cs"]);
    const out = (await new Response(recv.stdout).text()).replace(/\r/g, "");
    await recv.exited;
    expect(out).toContain("name=/dev/pts/0");
    expect(out).toContain("/dev/pts/0\n");
    expect(out).toContain("25 91");
    expect(out).toContain("c\n"); // /dev/console is the pty (a character device)
    expect(out).toContain("stdin-is-tty");
    sb.ok(["delete", "-f", "cs"]);
  });

  test("terminal without a console socket: create refuses, cleanly", async () => {
    const b = await sb.bundle("nocs", ["true"], (c) => (c.process.terminal = true));
    const r = sb.run(["create", "-b", b, "nocs"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--console-socket");
    expect(sb.containers()).toEqual([]);
  });

  test.skipIf(!hasScript)("run in the foreground relays the terminal and the exit status", async () => {
    const b = await sb.bundle("fg", ["sh", "-c", "tty; read line; echo got:$line; exit 3"], (c) => (c.process.terminal = true));
    const p = Bun.spawnSync(["script", "-qec", `${[...BUNC, "--root", sb.root, "run", "-b", b, "fg"].join(" ")}; echo "EXIT=$?"`, "/dev/null"], {
      stdin: new TextEncoder().encode("hello\n"),
      timeout: 30_000,
    });
    const out = p.stdout.toString().replace(/\r/g, "");
    expect(out).toContain("/dev/pts/0");
    expect(out).toContain("got:hello");
    expect(out).toContain("EXIT=3");
    expect(sb.containers()).toEqual([]);
  });

  test.skipIf(!hasScript)("exec -t gets its own pty and its exit status", async () => {
    const b = await sb.bundle("ex", ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, "ex"]);
    try {
      const r = underPty(`${[...BUNC, "--root", sb.root, "exec", "-t", "ex", "sh", "-c", "'tty; exit 5'"].join(" ")}`);
      expect(r.out).toMatch(/\/dev\/pts\/\d+/);
      expect(r.code).toBe(5);
      const plain = sb.run(["exec", "ex", "sh", "-c", "test -t 0 || echo not-a-tty"]);
      expect(plain.stdout).toBe("not-a-tty\n");
    } finally {
      sb.run(["delete", "-f", "ex"]);
    }
  });
});
