// Terminals (root): the console socket protocol (pty master over SCM_RIGHTS, as runc)
// and run/exec -t in the foreground under a real pty (util-linux `script`).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUNC, isRoot, fileSandbox, waitFor } from "../support/harness";
import { RECEIVER } from "../support/console";

const sb = fileSandbox();


const hasScript = Bun.spawnSync(["which", "script"]).exitCode === 0;
const hasPython = Bun.spawnSync(["python3", "-c", "import socket; socket.recv_fds"]).exitCode === 0;

/** Runs a command under a fresh pty; returns what the terminal showed and the exit status. */
function underPty(cmd: string): { out: string; code: number } {
  const p = Bun.spawnSync(["script", "-qec", `${cmd}; echo "EXIT=$?"`, "/dev/null"], { stdin: "ignore", timeout: 30_000 });
  const out = p.stdout.toString().replace(/\r/g, "");
  return { out, code: Number(out.match(/EXIT=(\d+)/)?.[1] ?? -1) };
}

describe.skipIf(!isRoot)("terminals (root)", () => {
  // bunc's own thread opens the pty (host setup), or the Bun init does (BUNC_HOST_SETUP=0): the same container.
  for (const [how, env] of [["bunc sets up the rootfs", {}], ["the Bun init sets up the rootfs", { BUNC_HOST_SETUP: "0" }]] as const) {
    test.skipIf(!hasPython)(`create --console-socket sends the pty master; the process has a controlling terminal (${how})`, async () => {
      const b = await sb.bundle(`cs${Object.keys(env).length}`, ["sh", "-c", "tty; stty size; ls -l /dev/console | cut -c1; test -t 0 && echo stdin-is-tty"], (c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: 25, width: 91 };
      });
      const sock = join(sb.dir, `console${Object.keys(env).length}.sock`);
      const recv = Bun.spawn(["python3", "-c", RECEIVER, sock], { stdout: "pipe" });
      waitFor(() => existsSync(sock), "the console socket receiver to listen");
      const id = `cs${Object.keys(env).length}`;
      expect(sb.run(["create", "-b", b, "--console-socket", sock, id], { env }).code).toBe(0);
      sb.ok(["start", id]);
      const out = (await new Response(recv.stdout).text()).replace(/\r/g, "");
      await recv.exited;
      expect(out).toContain("name=/dev/pts/0");
      expect(out).toContain("/dev/pts/0\n");
      expect(out).toContain("25 91");
      expect(out).toContain("c\n"); // /dev/console is the pty (a character device)
      expect(out).toContain("stdin-is-tty");
      sb.ok(["delete", "-f", id]);
    });
  }

  test.skipIf(!hasPython)("exec --tty --detach --console-socket sends the pty master of the new process", async () => {
    const id = "ecs" + Math.random().toString(36).slice(2, 7);
    const b = await sb.bundle(id, ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const sock = join(sb.dir, `${id}.sock`);
      const recv = Bun.spawn(["python3", "-c", RECEIVER, sock], { stdout: "pipe" });
      waitFor(() => existsSync(sock), "the console socket receiver to listen");
      sb.ok(["exec", "--tty", "--detach", "--console-socket", sock, id, "sh", "-c", "test -t 1 && echo tty-ok; stty size"]);
      const out = (await new Response(recv.stdout).text()).replace(/\r/g, "");
      await recv.exited;
      expect(out).toMatch(/name=\/dev\/pts\/\d+/);
      expect(out).toContain("tty-ok\n");
    } finally {
      sb.run(["delete", "-f", id]);
    }
  });

  // runc binds the pty over /dev/console before it remounts a read-only /dev (its finalizeRootfs):
  // the mount point must exist before /dev turns read-only, on both setup paths.
  const readonlyDev = (c: any) => {
    c.process.terminal = true;
    const dev = c.mounts.find((m: any) => m.destination === "/dev");
    dev.options = [...dev.options, "ro"];
  };
  const roDevScript = "tty; ls -l /dev/console | cut -c1; touch /dev/x 2>&1; test -t 0 && echo stdin-is-tty";
  for (const [how, env] of [["bunc sets up the rootfs", {}], ["the Bun init sets up the rootfs", { BUNC_HOST_SETUP: "0" }]] as const) {
    const n = Object.keys(env).length;
    test.skipIf(!hasPython)(`a read-only /dev with a terminal: --console-socket (${how})`, async () => {
      const id = `rodevcs${n}`;
      const b = await sb.bundle(id, ["sh", "-c", roDevScript], readonlyDev);
      const sock = join(sb.dir, `${id}.sock`);
      const recv = Bun.spawn(["python3", "-c", RECEIVER, sock], { stdout: "pipe" });
      try {
        waitFor(() => existsSync(sock), "the console socket receiver to listen");
        const r = sb.run(["create", "-b", b, "--console-socket", sock, id], { env });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        sb.ok(["start", id]);
        const out = (await new Response(recv.stdout).text()).replace(/\r/g, "");
        expect(out).toContain("/dev/pts/0\n");
        expect(out).toContain("c\n"); // /dev/console is the pty
        expect(out).toContain("touch: /dev/x: Read-only file system");
        expect(out).toContain("stdin-is-tty");
      } finally {
        recv.kill();
        sb.run(["delete", "-f", id]);
      }
    });

    test.skipIf(!hasScript)(`a read-only /dev with a terminal: run -t in the foreground (${how})`, async () => {
      const id = `rodevfg${n}`;
      const b = await sb.bundle(id, ["sh", "-c", roDevScript], readonlyDev);
      const vars = Object.entries(env).map(([k, v]) => `${k}=${v} `).join("");
      const r = underPty(vars + [...BUNC, "--root", sb.root, "run", "-b", b, id].join(" "));
      expect(r.out).not.toContain("EROFS");
      expect(r.out).toContain("/dev/pts/0\n");
      expect(r.out).toContain("touch: /dev/x: Read-only file system");
      expect(r.code).toBe(0);
      expect(sb.containers()).toEqual([]);
    });
  }

  test("terminal without a console socket: create and run -d refuse, cleanly", async () => {
    const b = await sb.bundle("nocs", ["true"], (c) => (c.process.terminal = true));
    for (const args of [["create", "-b", b, "nocs"], ["run", "-d", "-b", b, "nocs"]]) {
      const r = sb.run(args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      // crun's words (its tests grep them), with runc's reason
      expect(r.stderr).toContain("cannot allocate a terminal for a detached container: use --console-socket");
      expect(sb.containers()).toEqual([]);
    }
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

  // runc's relay clears ONLCR on the pty (tty.go): a script reading `run`'s output gets "\n",
  // not the terminal's "\r\n" (runc's env.bats compares lines this way).
  test("run and exec -t in the foreground, output piped: lines end in \\n, as runc's", async () => {
    const b = await sb.bundle("onlcr", ["sh", "-c", "echo one; echo two"], (c) => (c.process.terminal = true));
    const r = sb.run(["run", "-b", b, "onlcr"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("one\ntwo\n");
    const s = await sb.bundle("onlcrx", ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", s, "onlcrx"]);
    try {
      const x = sb.run(["exec", "-t", "onlcrx", "sh", "-c", "echo three; echo four"]);
      expect(x.code).toBe(0);
      expect(x.stdout).toBe("three\nfour\n");
    } finally {
      sb.run(["delete", "-f", "onlcrx"]);
    }
    expect(sb.containers()).toEqual([]);
  });

  // runc relays the terminal from create on: what the container side wrote before a failed
  // start (a startContainer hook's error) reaches the user (runc's hooks.bats).
  test("run -t in the foreground: what a failing startContainer hook wrote is shown, not lost", async () => {
    const b = await sb.bundle("ttyhook", ["true"], (c) => {
      c.process.terminal = true;
      c.hooks = { startContainer: [{ path: "/bin/busybox", args: ["cat", "/nosuchfile"] }] };
    });
    const r = sb.run(["run", "-b", b, "ttyhook"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("cat: can't open '/nosuchfile': No such file or directory\n");
    expect(r.stderr).toContain("error running startContainer hook #0: /bin/busybox: ");
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

  test.skipIf(!hasScript)("the pty belongs to the process's user (run -t and exec -t)", async () => {
    const id = "pty" + Math.random().toString(36).slice(2, 7);
    const b = await sb.bundle(id, ["sh", "-c", "stat -c %u $(tty)"], (c) => {
      c.process.terminal = true;
      c.process.user = { uid: 1000, gid: 1000 };
    });
    const r = underPty(`${[...BUNC, "--root", sb.root, "run", "-b", b, id].join(" ")}`);
    expect(r.out).toContain("1000\n");
    expect(r.code).toBe(0);
    const d = await sb.bundle(id + "d", ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", d, id + "d"]);
    try {
      const e = underPty(`${[...BUNC, "--root", sb.root, "exec", "-t", "--user", "1234", id + "d", "sh", "-c", "'stat -c %u $(tty)'"].join(" ")}`);
      expect(e.out).toContain("1234\n");
    } finally {
      sb.run(["delete", "-f", id + "d"]);
    }
  });
});
