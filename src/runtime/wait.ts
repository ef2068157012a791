// Waiting for a container's init: as its parent (the exit status), or as anyone (until gone).
import { isIgnored, sendSignal, waitpid, WNOHANG } from "../sys/proc";
import { FORWARDED_SIGNALS, SIGNALS } from "./signals";
import { isAlive, type Container } from "./state";

/** Waits until the init is gone (it is reaped by whoever is its parent). */
export function waitGone(c: Container, timeoutMs = 10_000): boolean {
  const until = Date.now() + timeoutMs;
  for (let i = 0; isAlive(c.pid, c.state.pidStartTime); i++) {
    if (Date.now() > until) return false;
    try {
      waitpid(c.pid, WNOHANG); // reap it if it is ours
    } catch {} // ECHILD: someone else's child
    Bun.sleepSync(i < 50 ? 0.2 : 5);
  }
  return true;
}

/** Decodes a wait status the way shells do: the exit code, or 128+signal. */
export function exitCodeOf(status: number): number {
  return (status & 0x7f) === 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
}

/**
 * Waits for our child `pid` (the init, when this process created it) while the event
 * loop keeps running so that forwarded signals are delivered.
 */
export async function waitChild(pid: number, reapStrays = false): Promise<number> {
  for (let i = 0; ; i++) {
    let r: { pid: number; status: number };
    try {
      // As a child subreaper (run's default, as runc's), the orphans the container leaves
      // behind are this process's children too: reaped as they end, as runc's reap loop does.
      do r = waitpid(reapStrays ? -1 : pid, WNOHANG);
      while (r.pid > 0 && r.pid !== pid);
    } catch {
      return 255;
    }
    if (r.pid === pid) return exitCodeOf(r.status);
    // Woken by the child's SIGCHLD at once; the timer only catches one that came between
    // waitpid and the listener (and bounds the wait as the polling did before).
    await childEvent(i < 100 ? 1 : i < 400 ? 5 : 20);
  }
}

/** One SIGCHLD listener for every waiter of this process (the library may wait for many). */
const waiters = new Set<() => void>();
const onChild = () => {
  for (const w of [...waiters]) w();
};

function childEvent(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      waiters.delete(done);
      if (!waiters.size) process.off("SIGCHLD", onChild);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (!waiters.size) process.on("SIGCHLD", onChild);
    waiters.add(done);
  });
}

/** Where `run` and `exec` in the foreground send the signals bunc gets. */
export interface SignalForwarder {
  /** From now on to `pid`; those that came before it existed go first. A relayed terminal takes WINCH. */
  to(pid: number, terminal: boolean): void;
  /**
   * The process is gone (reaped): what comes from now is dropped, not sent to a PID that may
   * be another's, and still caught, as runc's are while it deletes the container. A systemd
   * unit's stop sends SIGTERM again once its main process is gone; by default it ends bunc.
   */
  ended(): void;
  stop(): void;
}

/**
 * The signals bunc gets (signals.ts) go on to the process, as runc's do. Installed before the
 * process exists, as runc's handler comes before it starts the container: a signal that came
 * while bunc created or started it waits for `to`, rather than end bunc (most of these end a
 * process by default) with the container left running and nobody waiting for it. A signal the
 * caller ignored (nohup) is caught only from `to` on: the process inherits SIG_IGN from bunc,
 * a handler would not pass on (execve resets it), and until then bunc ignores it anyway.
 */
export function forwardSignals(): SignalForwarder {
  let pid = 0;
  let terminal = false;
  let ended = false;
  const waiting: number[] = [];
  const send = (n: number) => {
    if (!(terminal && n === SIGNALS.WINCH)) sendSignal(pid, n);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    const n = SIGNALS[sig.slice(3)]!;
    if (ended) return;
    if (pid) send(n);
    else waiting.push(n);
  };
  const names = FORWARDED_SIGNALS.map((s) => `SIG${s}` as NodeJS.Signals);
  const ignored = names.filter((s) => isIgnored(SIGNALS[s.slice(3)]!));
  const listen = (list: NodeJS.Signals[]) => {
    for (const s of list) process.on(s, onSignal);
  };
  listen(names.filter((s) => !ignored.includes(s)));
  return {
    to(p, t) {
      pid = p;
      terminal = t;
      listen(ignored);
      for (const n of waiting.splice(0)) send(n);
    },
    ended() {
      ended = true;
    },
    stop() {
      for (const s of names) process.off(s, onSignal);
    },
  };
}

/**
 * What `create` and `run -d` do while they make the container: the signals `run` would forward
 * are caught and dropped, as runc's handler (set before it creates) drops them when it
 * detaches. A SIGTERM halfway had ended bunc with the state, the cgroups and the init left.
 * Call `stop()` when done.
 */
export function holdSignals(): SignalForwarder {
  const held = forwardSignals();
  held.ended();
  return held;
}
