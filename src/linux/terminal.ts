// Terminals: a new pty from the container's devpts, its master handed over the console
// socket (runc's protocol: SCM_RIGHTS), its slave the process's controlling terminal.
import { SyscallError } from "../sys/libc";
import { O } from "../sys/arch";
import { linuxSyscalls, type Syscalls } from "../sys/syscalls";
import { MS } from "./mount-options";
import { pathExists } from "../sys/files";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export interface Pty { master: number; slave: number; name: string }

/**
 * A pty from the devpts of the root `rootFd` (the container's "/", or its /proc/<pid>/root
 * from outside): dev/ptmx resolved inside that root (openat2 RESOLVE_IN_ROOT, no magic
 * links), the slave taken from the master itself (TIOCGPTPEER): no path of the container
 * is trusted, a /dev the bundle binds in included.
 */
export function openPtyInRoot(rootFd: number, size?: { height: number; width: number }, sys: Syscalls = linuxSyscalls): Pty {
  const master = sys.openInRoot(rootFd, "dev/ptmx", O.RDWR | O.NOCTTY | O.CLOEXEC);
  try {
    sys.ptyUnlock(master);
    const name = `/dev/pts/${sys.ptyNumber(master)}`;
    const slave = sys.ptyPeer(master, O.RDWR | O.NOCTTY | O.CLOEXEC);
    if (size) sys.setWindowSize(master, size.height, size.width);
    return { master, slave, name };
  } catch (e) {
    sys.close(master);
    throw e;
  }
}

export function setWindowSize(fd: number, rows: number, cols: number, sys: Syscalls = linuxSyscalls): void {
  sys.setWindowSize(fd, rows, cols);
}

/** Output of the pty as runc's relay gives it: "\n" stays "\n" (runc: console.ClearONLCR). */
export function clearOnlcr(master: number, sys: Syscalls = linuxSyscalls): void {
  sys.clearOnlcr(master);
}

/** /dev/console of the container is its terminal (bind mount of the pty slave). */
export function bindConsole(sys: Syscalls, slaveName: string): void {
  if (!pathExists("/dev/console")) nodeFs().writeFileSync("/dev/console", "", { mode: 0o600 });
  sys.mount(slaveName, "/dev/console", null, MS.BIND, null);
}

const EPERM = 1;

/**
 * A session and process group of its own for the process about to exec, terminal or not
 * (runc's nsexec stage 2): not the caller's, which the container's PID namespace cannot see.
 */
export function newSession(sys: Syscalls = linuxSyscalls): void {
  try {
    sys.setsid();
  } catch (e) {
    if (!(e instanceof SyscallError && e.errno === EPERM)) throw e; // EPERM: a session leader already
  }
}

/** In the process about to exec: a new session whose controlling terminal is the slave, on stdio. */
export function takeTerminal(slave: number, sys: Syscalls = linuxSyscalls): void {
  newSession(sys);
  sys.setControllingTerminal(slave);
  for (const fd of [0, 1, 2]) sys.dup2(slave, fd);
  if (slave > 2) sys.close(slave);
}
