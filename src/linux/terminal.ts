// Terminals: a new pty from the container's devpts, its master handed over the console
// socket (runc's protocol: SCM_RIGHTS), its slave the process's controlling terminal.
import { openSync, closeSync, existsSync, writeFileSync } from "node:fs";
import { ptr } from "bun:ffi";
import { check, libc } from "../sys/libc";
import type { Syscalls } from "../sys/syscalls";
import { MS } from "./mount-options";

const O_RDWR = 2, O_NOCTTY = 0o400, O_CLOEXEC = 0o2000000;
const TIOCGPTN = 0x80045430n, TIOCSPTLCK = 0x40045431n, TIOCSWINSZ = 0x5414n, TIOCSCTTY = 0x540en, TIOCGPTPEER = 0x5441n;

export interface Pty { master: number; slave: number; name: string }

/** Opens a pty pair from /dev/ptmx as seen by the calling thread (the container's, after pivot_root). */
export function openPty(size?: { height: number; width: number }): Pty {
  const master = openSync("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  const n = new Int32Array(1);
  check("ioctl(TIOCSPTLCK)", libc.ioctl(master, TIOCSPTLCK, ptr(n)), "/dev/ptmx");
  check("ioctl(TIOCGPTN)", libc.ioctl(master, TIOCGPTN, ptr(n)), "/dev/ptmx");
  const name = `/dev/pts/${n[0]}`;
  const slave = openSync(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (size) setWindowSize(master, size.height, size.width);
  return { master, slave, name };
}

/**
 * A pty from the devpts of the root `rootFd` (a container's /proc/<pid>/root), opened from
 * outside: /dev/ptmx resolved inside that root (openat2 RESOLVE_IN_ROOT), the slave taken
 * from the master itself (TIOCGPTPEER), so no path of the container is trusted.
 */
export function openPtyInRoot(rootFd: number, size?: { height: number; width: number }): Pty {
  const { openInRoot } = require("../sys/openat2") as typeof import("../sys/openat2");
  const master = openInRoot(rootFd, "dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  try {
    const n = new Int32Array(1);
    check("ioctl(TIOCSPTLCK)", libc.ioctl(master, TIOCSPTLCK, ptr(n)), "/dev/ptmx");
    check("ioctl(TIOCGPTN)", libc.ioctl(master, TIOCGPTN, ptr(n)), "/dev/ptmx");
    const slave = check("ioctl(TIOCGPTPEER)", libc.ioctl(master, TIOCGPTPEER, (O_RDWR | O_NOCTTY | O_CLOEXEC) as any), "/dev/ptmx");
    if (size) setWindowSize(master, size.height, size.width);
    return { master, slave: Number(slave), name: `/dev/pts/${n[0]}` };
  } catch (e) {
    closeSync(master);
    throw e;
  }
}

export function setWindowSize(fd: number, rows: number, cols: number): void {
  const ws = new Uint16Array([rows, cols, 0, 0]);
  check("ioctl(TIOCSWINSZ)", libc.ioctl(fd, TIOCSWINSZ, ptr(ws)));
}

/** /dev/console of the container is its terminal (bind mount of the pty slave). */
export function bindConsole(sys: Syscalls, slaveName: string): void {
  if (!existsSync("/dev/console")) writeFileSync("/dev/console", "", { mode: 0o600 });
  sys.mount(slaveName, "/dev/console", null, MS.BIND, null);
}

/** In the process about to exec: a new session whose controlling terminal is the slave, on stdio. */
export function takeTerminal(slave: number): void {
  libc.setsid();
  check("ioctl(TIOCSCTTY)", libc.ioctl(slave, TIOCSCTTY, null));
  for (const fd of [0, 1, 2]) check("dup2", libc.dup2(slave, fd));
  if (slave > 2) closeSync(slave);
}
