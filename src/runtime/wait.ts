// Waiting for a container's init: as its parent (the exit status), or as anyone (until gone).
import { sendSignal, waitpid, WNOHANG } from "../sys/proc";
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
export async function waitChild(pid: number): Promise<number> {
  for (let i = 0; ; i++) {
    let r: { pid: number; status: number };
    try {
      r = waitpid(pid, WNOHANG);
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

/**
 * `run` and `exec` in the foreground: the signals bunc gets go on to `pid` (signals.ts), as
 * runc's do; with a relayed terminal INT and WINCH travel through the pty. Returns the undo.
 */
export function forwardSignals(pid: number, terminal: boolean): () => void {
  const names = FORWARDED_SIGNALS.filter((s) => !terminal || (s !== "INT" && s !== "WINCH")).map((s) => `SIG${s}` as NodeJS.Signals);
  const forward = (sig: NodeJS.Signals) => void sendSignal(pid, SIGNALS[sig.slice(3)]!);
  for (const s of names) process.on(s, forward);
  return () => {
    for (const s of names) process.off(s, forward);
  };
}
