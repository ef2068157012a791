// posix_spawn: a child that executes a program without a copy of Bun's memory (the libc's
// vfork-style clone on a stack of its own), for the native stages (nsexec.ts).
import { cstr, cstrArray, libc, SyscallError, ptr } from "./libc";

/**
 * Runs `path` with `argv` and `env`; of the fds besides stdio only `inherit` reach it, at
 * their own numbers (a dup2 onto itself clears close-on-exec in the child alone, POSIX 2017).
 * Signal handlers are reset and the caller's signal mask restored in the child before exec.
 * Returns the child's pid; the caller reaps it.
 */
export function spawnProgram(path: string, argv: string[], env: string[], inherit: number[]): number {
  // posix_spawn_file_actions_t is 80 bytes in glibc and musl: room to spare.
  const actions = new BigUint64Array(32);
  must("posix_spawn_file_actions_init", libc.posix_spawn_file_actions_init(ptr(actions)), path);
  try {
    for (const fd of new Set(inherit)) must("posix_spawn_file_actions_adddup2", libc.posix_spawn_file_actions_adddup2(ptr(actions), fd, fd), path);
    const pid = new Int32Array(1);
    const file = cstr(path), args = cstrArray(argv), envp = cstrArray(env);
    must("posix_spawn", libc.posix_spawn(ptr(pid), ptr(file), ptr(actions), null, ptr(args.array), ptr(envp.array)), path);
    return pid[0]!;
  } finally {
    libc.posix_spawn_file_actions_destroy(ptr(actions));
  }
}

/** posix_spawn's calls return the error number itself, not -1 and errno. */
function must(call: string, rc: number, path: string): void {
  if (rc !== 0) throw new SyscallError(call, rc, path);
}
