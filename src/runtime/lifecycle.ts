// start, kill, delete and waiting for a container: each checks the derived status
// first, as runtime.md requires, and holds the container's lock.
import { closeSync, openSync, readSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ptr } from "bun:ffi";
import { libc, errno } from "../sys/libc";
import { warnToStderr } from "../sys/output";
import { BuncError } from "./errors";
import { runHooksWarn } from "./hooks";
import { Container, FIFO, isAlive, loadContainer, lockContainer, type Status } from "./state";
import { containerCgroups } from "./cgroups";
import { describeCgroups, tracer, type Debug } from "./trace";

type Warn = (m: string) => void;
const defaultWarn: Warn = warnToStderr;

export function withContainer<T>(root: string, id: string, fn: (c: Container) => T): T {
  const unlock = lockContainer(root, id);
  try {
    return fn(loadContainer(root, id));
  } finally {
    unlock();
  }
}

const O_RDONLY = 0, O_NONBLOCK = 0o4000, O_CLOEXEC = 0o2000000;

/** `start`: opens the exec fifo, which lets the init exec the user's program. */
export function startContainer(root: string, id: string, warn: Warn = defaultWarn, debug?: Debug): Container {
  const trace = tracer(`start ${id}`, debug);
  return withContainer(root, id, (c) => {
    const status = c.status();
    trace(`locked; status ${status}, init pid ${c.pid}`);
    if (status !== "created") throw new BuncError(`cannot start a container that is ${status}`);
    const fifo = join(c.dir, FIFO);
    const fd = openSync(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    try {
      // One byte: the init got the go. EOF: it reached execve (its end is close-on-exec) or died.
      const buf = new Uint8Array(16);
      let got = 0;
      for (let i = 0; ; i++) {
        let n = -1;
        try {
          n = readSync(fd, buf);
        } catch (e: any) {
          if (e.code !== "EAGAIN") throw e;
        }
        if (n > 0) got += n;
        else if (n === 0 && got > 0) break;
        else if (n === 0 && !isAlive(c.pid, c.state.pidStartTime)) {
          // It may have written its byte and died (e.g. a bad process.cwd) between two reads.
          try { if (readSync(fd, buf) > 0) break; } catch {}
          throw new BuncError("cannot start container: its init exited");
        }
        Bun.sleepSync(i < 50 ? 0.1 : 1);
      }
    } finally {
      closeSync(fd);
    }
    trace("exec fifo read to EOF: the init executed the program");
    unlinkSync(fifo);
    runHooksWarn("poststart", c.state.config.hooks?.poststart, c.hookState("running"), warn);
    trace(`${c.state.config.hooks?.poststart?.length ?? 0} poststart hooks run`);
    return c;
  });
}

export function killContainer(root: string, id: string, signal: number, all = false): void {
  withContainer(root, id, (c) => {
    const status = c.status();
    if (status === "stopped") throw new BuncError("container not running");
    if (all) {
      const cg = containerCgroups(c.state, defaultWarn);
      if (cg) return cg.killAll(signal);
    }
    if (libc.kill(c.pid, signal) < 0) throw new BuncError(`kill ${c.pid}: errno ${errno()}`);
  });
}

/** Waits until the init is gone (it is reaped by whoever is its parent). */
export function waitGone(c: Container, timeoutMs = 10_000): boolean {
  const until = Date.now() + timeoutMs;
  for (let i = 0; isAlive(c.pid, c.state.pidStartTime); i++) {
    if (Date.now() > until) return false;
    libc.waitpid(c.pid, null, 1 /* WNOHANG: reap it if it is ours */);
    Bun.sleepSync(i < 50 ? 0.2 : 5);
  }
  return true;
}

export function deleteContainer(root: string, id: string, force = false, warn: Warn = defaultWarn, debug?: Debug): void {
  const trace = tracer(`delete ${id}`, debug);
  let c: Container;
  let unlock: () => void;
  try {
    unlock = lockContainer(root, id);
    c = loadContainer(root, id);
  } catch (e) {
    // containerd deletes twice; a forced delete of what is not there succeeds.
    if (force && e instanceof BuncError) return;
    throw e;
  }
  try {
    const status: Status = c.status();
    trace(`locked; status ${status}, init pid ${c.pid}`);
    if (status === "running" || status === "paused") {
      if (!force) throw new BuncError(`cannot delete container ${id} that is not stopped: ${status}`);
    }
    if (status !== "stopped") {
      const cg = containerCgroups(c.state, warn);
      if (cg) cg.killAll(9);
      libc.kill(c.pid, 9); // a created init is not yet in every hierarchy
      if (status === "paused") cg?.thaw();
      if (!waitGone(c)) throw new BuncError(`container ${id}: init ${c.pid} did not exit after SIGKILL`);
      trace("processes killed (SIGKILL) and gone");
    }
    runHooksWarn("poststop", c.state.config.hooks?.poststop, c.hookState("stopped"), warn);
    trace(`${c.state.config.hooks?.poststop?.length ?? 0} poststop hooks run`);
    try {
      containerCgroups(c.state, warn)?.destroy();
      trace(`cgroups removed: ${describeCgroups(c.state.cgroupPaths)}`);
    } catch (e: any) {
      warn(e.message);
    }
    c.remove();
    trace(`state directory ${c.dir} removed`);
  } finally {
    unlock();
  }
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
  const st = new Int32Array(1);
  for (let i = 0; ; i++) {
    const r = libc.waitpid(pid, ptr(st), 1 /* WNOHANG */);
    if (r === pid) return exitCodeOf(st[0]!);
    if (r < 0) return 255;
    await Bun.sleep(i < 100 ? 1 : i < 400 ? 5 : 20);
  }
}
