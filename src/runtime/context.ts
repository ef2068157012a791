// What every runtime operation gets from its caller: where container state lives and where
// warnings and --debug traces go. The library never writes to stdout or stderr itself; the
// CLI's logger is what prints `bunc: warn: ...`.

/** Where warnings and debug lines go. */
export interface Logger {
  warn(message: string): void;
  /** The lifecycle steps with their timings (--debug); without it no trace is built. */
  debug?(message: string): void;
}

export interface RuntimeContext {
  /** The state directory (one subdirectory per container). */
  root: string;
  /** Its methods are called detached (passed on as callbacks): make it with runtimeContext(). */
  log: Logger;
  /** --systemd-cgroup: create puts the container in a systemd scope (runc's systemd driver). */
  systemdCgroup?: boolean;
}

/** A context for `root` whose logger is `log` (default: silent), its methods bound to it. */
export function runtimeContext(root: string, log?: Logger): RuntimeContext {
  if (!log) return { root, log: { warn() {} } };
  const debug = log.debug;
  return { root, log: { warn: (m) => log.warn(m), ...(debug && { debug: (m: string) => debug.call(log, m) }) } };
}
