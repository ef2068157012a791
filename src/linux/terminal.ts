// Terminals: a new pty from the container's devpts, its master handed over the console
// socket (runc's protocol: SCM_RIGHTS), its slave the process's controlling terminal.
import { SyscallError } from "../sys/libc";
import { O } from "../sys/arch";
import { linuxSyscalls, type Syscalls } from "../sys/syscalls";
import { closeFd, openPath, statFd } from "../sys/files";
import { BuncError } from "../sys/errors";
import { touchInRoot } from "./path";

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

/**
 * /dev/console of the container is its terminal: a bind of the pty slave bunc holds, from
 * that fd, onto /dev/console opened without following a symlink there, both below the
 * container's root (this process's "/" now). runc's CVE-2025-52565: a bind of "/dev/pts/<n>"
 * by path binds whatever a symlink there leads to (the host's core_pattern through the
 * container's procfs), writable, as the container's console.
 */
export function bindConsole(sys: Syscalls, pty: Pty): void {
  const root = openPath("/", O.PATH | O.DIRECTORY | O.CLOEXEC);
  try {
    let target = sys.openInRootIfExists(root, "dev/console", O.PATH | O.NOFOLLOW | O.CLOEXEC);
    if (target === undefined) {
      touchInRoot(root, "dev/console", 0o600, sys);
      target = sys.openInRoot(root, "dev/console", O.PATH | O.NOFOLLOW | O.CLOEXEC);
    }
    try {
      const st = statFd(target);
      if (!st.isFile() && !st.isCharacterDevice())
        throw new BuncError(`process.terminal: cannot bind the terminal on /dev/console: it is ${st.isSymbolicLink() ? "a symlink" : "not a file"}`);
      const tree = sys.openTreeOf(pty.slave, pty.name);
      try {
        sys.moveMount(tree, target, "/dev/console");
      } finally {
        sys.close(tree);
      }
    } finally {
      sys.close(target);
    }
  } finally {
    closeFd(root);
  }
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
