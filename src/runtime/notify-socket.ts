// sd_notify from inside the container, as runc's notify_socket.go: with NOTIFY_SOCKET in the
// CLI's environment (a systemd unit of Type=notify, podman's --sdnotify=container; a library
// caller passes `notifySocket` itself, as its own process's socket is its own), create
// bind-mounts the `notify` directory of the container's state read-only at /run/notify and
// points the process's NOTIFY_SOCKET there; start (and run) bind a datagram socket in it
// before the go, wait for the program's READY=, and pass it on to the caller's socket with
// MAINPID (the container's init) and a BARRIER, so that systemd watches the container.
import { join } from "../sys/paths";
import { changeMode, closeFd, makeDirectory, pathExists, readFd, tryRemove } from "../sys/files";
import { bindUnixDatagram, connectUnix, recvSome, sendFd } from "../sys/socket";
import { pollIn } from "../sys/io";
import { check, libc, ptr } from "../sys/libc";
import type { Mount } from "../spec/schema";
import { NOTIFY_DIR, NOTIFY_SOCKET_FILE } from "./state";

const IN_CONTAINER = "/run/notify";
/** The container process's variable (the state's socket as the container sees it). */
export const NOTIFY_ENV = `NOTIFY_SOCKET=${IN_CONTAINER}/notify.sock`;

/** create: the mount that shows the state's notify directory in the container. */
export function notifyMount(stateDir: string): Mount {
  return { destination: IN_CONTAINER, source: join(stateDir, NOTIFY_DIR), type: "bind", options: ["bind", "nosuid", "noexec", "nodev", "ro"] };
}

/** create, once the state directory is claimed: the directory the mount shows. */
export function makeNotifyDir(stateDir: string): void {
  makeDirectory(join(stateDir, NOTIFY_DIR), 0o755);
}

/** start: the socket the container's program sends to, when create made its directory (-1 when not). */
export function bindNotifySocket(stateDir: string): number {
  const dir = join(stateDir, NOTIFY_DIR);
  if (!pathExists(dir)) return -1;
  const path = join(stateDir, NOTIFY_SOCKET_FILE);
  tryRemove(path, false, 2 /* ENOENT */);
  const fd = bindUnixDatagram(path);
  // The container's user may be anyone: runc makes it 0777 too (the directory is read-only there).
  changeMode(path, 0o777);
  return fd;
}

/** The READY= line of what was sent to the socket so far (non-blocking), if any. */
export function readReady(sock: number): string | undefined {
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = recvSome(sock, buf, "the notify socket");
    if (n < 0) return undefined;
    // systemd's sd_notify sends one datagram of newline-separated assignments
    const line = new TextDecoder().decode(buf.subarray(0, n)).split("\n").find((l) => l.startsWith("READY="));
    if (line) return line;
  }
}

/**
 * Waits (blocking) until the program says READY= or `alive()` turns false, then tells the
 * caller's socket. Returns whether READY came.
 */
export function relayReady(sock: number, host: string, pid: number, alive: () => boolean): boolean {
  for (;;) {
    const gone = !pollIn(sock, 100) && !alive();
    // A program may say READY and end at once: what it sent is read before giving up on it.
    const ready = readReady(sock);
    if (ready) {
      notifyHost(host, ready, pid);
      return true;
    }
    if (gone) return false;
  }
}

/** READY, then MAINPID=<the init>, then the sd_notify barrier: systemd has read both once it closes the pipe. */
export function notifyHost(host: string, ready: string, pid: number): void {
  const abstract = host.startsWith("@");
  const client = connectUnix(abstract ? host.slice(1) : host, { datagram: true, abstract });
  try {
    const enc = new TextEncoder();
    for (const msg of [`${ready}\n`, `MAINPID=${pid}\n`]) {
      const b = enc.encode(msg);
      check("send", libc.send(client, ptr(b), BigInt(b.length), 0x4000 /* MSG_NOSIGNAL */), `NOTIFY_SOCKET ${host}`);
    }
    barrier(client, host);
  } finally {
    closeFd(client);
  }
}

/** BARRIER=1 with a pipe's write end; the caller closes it once it has read what came before (30 s at most, as runc). */
function barrier(client: number, host: string): void {
  const fds = new Int32Array(2);
  check("pipe2", libc.pipe2(ptr(fds), 0o2000000 /* O_CLOEXEC */));
  try {
    sendFd(client, fds[1]!, "BARRIER=1", `NOTIFY_SOCKET ${host}`);
    closeFd(fds[1]!);
    fds[1] = -1;
    if (pollIn(fds[0]!, 30_000)) readFd(fds[0]!, new Uint8Array(1));
  } finally {
    closeFd(fds[0]!);
    if (fds[1]! >= 0) closeFd(fds[1]!);
  }
}

/**
 * `run` in the foreground: READY= looked for every 100 ms while bunc waits for the process
 * (runc's foreground run blocks on it instead). Returns the stop, which reads the socket a
 * last time and closes it.
 */
export function watchReady(sock: number, host: string, pid: number): () => void {
  let timer: ReturnType<typeof setInterval> | undefined;
  const look = () => {
    const ready = readReady(sock);
    if (!ready) return;
    end();
    notifyHost(host, ready, pid);
  };
  const end = () => {
    if (timer === undefined) return;
    clearInterval(timer);
    timer = undefined;
    closeFd(sock);
  };
  timer = setInterval(look, 100);
  // Once the process has ended: what it sent before (READY, then exit at once) is passed on too.
  return () => {
    if (timer !== undefined) look();
    end();
  };
}
