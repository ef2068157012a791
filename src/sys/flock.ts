// flock(2): bunc's locks on state and cache directories.
import { check, libc, SyscallError } from "./libc";

const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, EWOULDBLOCK = 11;

/**
 * Locks `fd` shared or exclusive. Waits for the lock unless `wait` is false, in which case
 * it returns false when another holds it.
 */
export function flock(fd: number, opts: { exclusive: boolean; wait: boolean; path?: string }): boolean {
  const op = (opts.exclusive ? LOCK_EX : LOCK_SH) | (opts.wait ? 0 : LOCK_NB);
  try {
    check("flock", libc.flock(fd, op), opts.path);
    return true;
  } catch (e) {
    if (!opts.wait && e instanceof SyscallError && e.errno === EWOULDBLOCK) return false;
    throw e;
  }
}
