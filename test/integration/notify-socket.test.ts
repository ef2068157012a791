// Needs root and a C compiler with a static libc (for the container's sd_notify sender). sd_notify
// through the container, as runc: with NOTIFY_SOCKET set, the program finds a socket at
// /run/notify/notify.sock, and start (or run) passes its READY= on to the caller's socket with
// MAINPID and a BARRIER.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot } from "../support/harness";
import { skipping } from "../support/host";
import { bindUnixDatagram, recvMaybeFd } from "../../src/sys/socket";
import { pollIn } from "../../src/sys/io";
import { closeFd } from "../../src/sys/files";

const sb = fileSandbox();
const uid = () => "ns" + Math.random().toString(36).slice(2, 8);

const helper = join(sb.dir, "sd-notify");
const built = (() => {
  if (!isRoot || !Bun.which("cc")) return false;
  return Bun.spawnSync(["cc", "-static", "-O2", "-o", helper, join(import.meta.dir, "../support/sd-notify.c")]).exitCode === 0;
})();
const cannot = !isRoot || skipping(!built, "sd_notify through the container (notify-socket.test.ts)", "no C compiler with a static libc to build the container's sender");

/** The caller's socket (systemd's, here the test's), and what arrives on it. */
function hostSocket() {
  const dir = join(sb.dir, `host-${uid()}`);
  mkdirSync(dir);
  const path = join(dir, "notify");
  const fd = bindUnixDatagram(path);
  return {
    path,
    /** The next datagram (and the fd with it), waiting up to 30 s. */
    next(): { text: string; fd?: number } {
      if (!pollIn(fd, 30_000)) throw new Error("nothing arrived on the notify socket in 30 s");
      const m = recvMaybeFd(fd);
      return { text: new TextDecoder().decode(m.data), fd: m.fd };
    },
    /** Whether anything is there now. */
    pending: () => pollIn(fd, 0) !== 0,
    close: () => closeFd(fd),
  };
}

async function bundle(id: string, script: string): Promise<string> {
  const b = await sb.bundle(id, ["sh", "-c", script], () => {}, true);
  Bun.spawnSync(["cp", helper, join(b, "rootfs/bin/sd-notify")]);
  return b;
}

const exited = (p: ReturnType<typeof Bun.spawn>) => p.exitCode !== null || p.signalCode !== null;

afterAll(() => {
  for (const id of sb.containers()) sb.run(["delete", "--force", id]);
});

describe.skipIf(cannot)("sd_notify through the container (root)", () => {
  test("create shows the socket's directory; start waits for READY=, then passes READY, MAINPID and a barrier on", async () => {
    const host = hostSocket();
    const id = uid();
    try {
      // The program says READY (with another assignment in the same datagram) and goes on running.
      const b = await bundle(id, `test "$NOTIFY_SOCKET" = /run/notify/notify.sock || exit 3; sd-notify "$(printf 'STATUS=up\\nREADY=1')"; exec sleep 60`);
      sb.ok(["create", "-b", b, id], { env: { NOTIFY_SOCKET: host.path } });
      expect(existsSync(join(sb.root, id, "notify"))).toBe(true);
      const start = Bun.spawn([...BUNC, "--root", sb.root, "start", id], { env: { ...process.env, NOTIFY_SOCKET: host.path }, stderr: "pipe" });
      try {
        expect(host.next().text).toBe("READY=1\n");
        const pid = JSON.parse(sb.ok(["state", id])).pid; // state is not held up by the waiting start
        expect(host.next().text).toBe(`MAINPID=${pid}\n`);
        const barrier = host.next();
        expect(barrier.text).toBe("BARRIER=1");
        expect(barrier.fd).toBeNumber();
        // start waits for the barrier's pipe to be closed (systemd has read what came before)
        expect(exited(start)).toBe(false);
        closeFd(barrier.fd!);
        expect(await start.exited).toBe(0);
        expect(JSON.parse(sb.ok(["state", id])).status).toBe("running");
        // in the config, as runc puts it: exec's processes have it too
        expect(sb.ok(["exec", id, "sh", "-c", "echo $NOTIFY_SOCKET"])).toBe("/run/notify/notify.sock\n");
        const mounts = sb.ok(["exec", id, "cat", "/proc/self/mountinfo"]);
        expect(mounts).toMatch(/ \/run\/notify ro,nosuid,nodev,noexec/);
      } finally {
        if (!exited(start)) start.kill(9);
      }
      sb.ok(["delete", "--force", id]);
      expect(existsSync(join(sb.root, id))).toBe(false);
    } finally {
      host.close();
    }
  });

  test("in a user namespace, a program that says READY and ends at once: READY still reaches the caller (run)", async () => {
    const host = hostSocket();
    const id = uid();
    try {
      // The mapped root (host 100000) must reach the rootfs: the sandbox is 0700.
      chmodSync(sb.dir, 0o711);
      const b = await bundle(id, `test "$(id -u)" = 0 && sd-notify READY=1`);
      const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
      const config = JSON.parse(readFileSync(join(b, "config.json"), "utf8"));
      config.linux.namespaces.push({ type: "user" });
      Object.assign(config.linux, { uidMappings: map, gidMappings: map });
      writeFileSync(join(b, "config.json"), JSON.stringify(config));
      Bun.spawnSync(["chown", "-R", "-h", "100000:100000", join(b, "rootfs")]);
      const run = Bun.spawn([...BUNC, "--root", sb.root, "run", "-b", b, id], { env: { ...process.env, NOTIFY_SOCKET: host.path }, stderr: "pipe" });
      try {
        expect(host.next().text).toBe("READY=1\n");
        expect(host.next().text).toMatch(/^MAINPID=\d+\n$/);
        closeFd(host.next().fd!);
        expect(await run.exited).toBe(0);
      } finally {
        if (!exited(run)) run.kill(9);
      }
    } finally {
      host.close();
    }
  });

  test("start returns when the program ends without READY; nothing is sent", async () => {
    const host = hostSocket();
    const id = uid();
    try {
      const b = await bundle(id, "exit 0");
      sb.ok(["create", "-b", b, id], { env: { NOTIFY_SOCKET: host.path } });
      sb.ok(["start", id], { env: { NOTIFY_SOCKET: host.path } });
      expect(host.pending()).toBe(false);
      sb.ok(["delete", id]);
    } finally {
      host.close();
    }
  });

  test("run in the foreground passes READY on while it waits for the process", async () => {
    const host = hostSocket();
    const id = uid();
    try {
      // The process waits for the test to have seen READY and MAINPID (the file below) before it ends.
      const b = await bundle(id, `sd-notify READY=1; while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7`);
      const run = Bun.spawn([...BUNC, "--root", sb.root, "run", "-b", b, id], { env: { ...process.env, NOTIFY_SOCKET: host.path }, stderr: "pipe" });
      try {
        expect(host.next().text).toBe("READY=1\n");
        expect(host.next().text).toMatch(/^MAINPID=\d+\n$/);
        const barrier = host.next();
        closeFd(barrier.fd!);
        writeFileSync(join(b, "rootfs/tmp/go"), "");
        expect(await run.exited).toBe(7);
      } finally {
        if (!exited(run)) run.kill(9);
      }
      expect(sb.containers()).toEqual([]);
    } finally {
      host.close();
    }
  });

  test("the library reads no NOTIFY_SOCKET of its caller's process; notifySocket asks for it", async () => {
    const { createContainer, deleteContainer, runtimeContext } = await import("../../src/index");
    const host = hostSocket();
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = host.path; // a Bun service's own socket, under systemd
    try {
      const ctx = runtimeContext(sb.root);
      const plain = uid(), asked = uid();
      createContainer(ctx, { id: plain, bundle: await bundle(plain, "true") });
      createContainer(ctx, { id: asked, bundle: await bundle(asked, "true"), notifySocket: host.path });
      expect(existsSync(join(sb.root, plain, "notify"))).toBe(false);
      expect(existsSync(join(sb.root, asked, "notify"))).toBe(true);
      deleteContainer(ctx, plain, true);
      deleteContainer(ctx, asked, true);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
      host.close();
    }
  });

  test("without NOTIFY_SOCKET nothing of it is made", async () => {
    const id = uid();
    const b = await bundle(id, "test -z \"$NOTIFY_SOCKET\" && test ! -e /run/notify");
    const env = { ...process.env };
    delete env.NOTIFY_SOCKET;
    const r = Bun.spawnSync([...BUNC, "--root", sb.root, "run", "-b", b, id], { env });
    expect(r.exitCode).toBe(0);
  });
});
