// start, kill, delete and waiting for a container: each checks the derived status
// first, as runtime.md requires, and holds the container's lock.
import { closeSync, existsSync, openSync, readdirSync, readSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { libc, errno } from "../sys/libc";
import { O } from "../sys/arch";
import { waitpid, WNOHANG } from "../sys/proc";
import { errnoName } from "../sys/errno";
import { warnToStderr } from "../sys/output";
import { BuncError } from "./errors";
import { runHooks, runHooksWarn } from "./hooks";
import { Container, FIFO, isAlive, loadContainer, lockContainer, STATE_FILE, type Status } from "./state";
import { containerCgroups } from "./cgroups";
import type { InitFailure } from "./init";
import { decodeFailure, describeFailure } from "../sys/native-request";
import { moveBack } from "../linux/net-devices";
import { describeCgroups, tracer, type Debug } from "./trace";

type Warn = (m: string) => void;
const defaultWarn: Warn = warnToStderr;

export function withContainer<T>(root: string, id: string, fn: (c: Container) => T): T {
  const unlock = lockContainer(root, id);
  try {
    const c = loadContainer(root, id);
    c.lockedByUs = true;
    return fn(c);
  } finally {
    unlock();
  }
}

/** `start`: opens the exec fifo, which lets the init exec the user's program. */
export function startContainer(root: string, id: string, warn: Warn = defaultWarn, debug?: Debug): Container {
  const trace = tracer(`start ${id}`, debug);
  return withContainer(root, id, (c) => {
    const status = c.status();
    trace(`locked; status ${status}, init pid ${c.pid}`);
    if (status !== "created") throw new BuncError(`cannot start a container that is ${status}`);
    const fifo = join(c.dir, FIFO);
    const fd = openSync(fifo, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
    let reply: Uint8Array;
    try {
      reply = readStartReply(fd, c);
    } finally {
      closeSync(fd);
    }
    trace("exec fifo read to EOF: the init executed the program");
    unlinkSync(fifo);
    const failure = startFailure(reply, c);
    if (failure) {
      // The init exits right after reporting: `start` returns once the container is stopped.
      waitGone(c);
      throw new StartError(`cannot start container ${id}: ${failure.message}`, failure.exitCode);
    }
    try {
      runHooks("poststart", c.state.config.hooks?.poststart, c.hookState("running"), { cwd: c.state.bundle });
    } catch (e: any) {
      // Runtime spec 1.3 (runtime.md, lifecycle step 9): a failing poststart hook is an
      // error; the container is stopped and waits for `delete`.
      containerCgroups(c.state)?.killAll(9);
      libc.kill(c.pid, 9);
      waitGone(c);
      throw new StartError(`cannot start container ${id}: ${e.message}`, 1);
    }
    trace(`${c.state.config.hooks?.poststart?.length ?? 0} poststart hooks run`);
    return c;
  });
}

/** `start` failed after the go: exit status 1, and the status the container's init ended with. */
export class StartError extends BuncError {
  constructor(message: string, readonly containerExitCode: number) {
    super(message, 1);
  }
}

/**
 * Everything the init writes to the exec fifo: its go byte when it got the go, then EOF
 * once execve closed its end (close-on-exec), or an InitFailure as JSON before it exits.
 */
function readStartReply(fd: number, c: Container): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  let got = 0;
  for (let i = 0; ; i++) {
    let n = -1;
    try {
      n = readSync(fd, buf);
    } catch (e: any) {
      if (e.code !== "EAGAIN") throw e;
    }
    if (n > 0) {
      chunks.push(buf.slice(0, n));
      got += n;
      continue;
    }
    if (n === 0 && got > 0) break;
    if (n === 0 && !isAlive(c.pid, c.state.pidStartTime)) {
      // It may have written and died between two reads.
      try {
        const m = readSync(fd, buf);
        if (m > 0) { chunks.push(buf.slice(0, m)); break; }
      } catch {}
      throw new BuncError("cannot start container: its init exited");
    }
    // Before the init opened its end, a non-blocking read sees EOF; poll until it has.
    Bun.sleepSync(i < 50 ? 0.1 : 1);
  }
  return Buffer.concat(chunks);
}

function startFailure(reply: Uint8Array, c: Container): InitFailure | undefined {
  if (reply.length <= 1) return undefined;
  const native = decodeFailure(reply.subarray(1));
  if (native) {
    const p = c.state.config.process!;
    const hooks = c.state.config.hooks?.startContainer?.map((h) => h.path);
    return { message: describeFailure(native, { program: p.args[0], cwd: p.cwd, hooks }), exitCode: native.exitCode };
  }
  const text = new TextDecoder().decode(reply.subarray(1));
  try {
    const f = JSON.parse(text) as InitFailure;
    return { message: String(f.message), exitCode: Number(f.exitCode) || 1 };
  } catch {
    return { message: text, exitCode: 1 };
  }
}

export function killContainer(root: string, id: string, signal: number, all = false): void {
  withContainer(root, id, (c) => {
    const status = c.status();
    if (all) {
      // As runc: every process left in the container's cgroup, even once the init is gone.
      const cg = containerCgroups(c.state, defaultWarn);
      if (cg) return cg.killAll(signal);
      if (status === "stopped") return;
    }
    if (status === "stopped") throw new BuncError("container not running");
    if (libc.kill(c.pid, signal) < 0) throw new BuncError(`kill ${c.pid}: ${errnoName(errno())}`);
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
  } catch (e) {
    // containerd deletes twice; a forced delete of what is not there succeeds.
    if (force && e instanceof BuncError) return;
    throw e;
  }
  try {
    try {
      c = loadContainer(root, id);
    } catch (e) {
      if (!(e instanceof BuncError)) throw e;
      // A create killed before its first write made nothing but the directory.
      if (force && removeEmptyClaim(root, id)) return;
      if (force && /does not exist/.test(e.message)) return;
      throw e;
    }
    c.lockedByUs = true;
    const status: Status = c.status();
    trace(`locked; status ${status}, init pid ${c.pid}`);
    if (status === "running" || status === "paused") {
      if (!force) throw new BuncError(`cannot delete container ${id} that is not stopped: ${status}`);
    }
    const halfMade = !!c.state.creating;
    if (status !== "stopped" || halfMade) {
      // Devices go back to the host while the container's network namespace still exists.
      if (c.state.netDevices && isAlive(c.pid, c.state.pidStartTime)) moveBack(c.pid, c.state.netDevices, warn);
      const cg = containerCgroups(c.state, warn);
      if (cg) cg.killAll(9);
      if (isAlive(c.pid, c.state.pidStartTime)) libc.kill(c.pid, 9); // a created init is not yet in every hierarchy
      if (status === "paused") cg?.thaw();
      if (!waitGone(c)) throw new BuncError(`container ${id}: init ${c.pid} did not exit after SIGKILL`);
      trace("processes killed (SIGKILL) and gone");
    }
    // A create that never finished ran no container: no poststop hooks for it.
    if (!halfMade) runHooksWarn("poststop", c.state.config.hooks?.poststop, c.hookState("stopped"), warn, { cwd: c.state.bundle });
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

/**
 * Removes a state directory holding no state.json: a create killed before its first
 * write, which is made before anything else (at most its temporary file is there).
 */
function removeEmptyClaim(root: string, id: string): boolean {
  const dir = join(root, id);
  try {
    if (existsSync(join(dir, STATE_FILE)) || readdirSync(dir).some((f) => f !== `.${STATE_FILE}.tmp`)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  } catch {
    return false;
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
  for (let i = 0; ; i++) {
    let r: { pid: number; status: number };
    try {
      r = waitpid(pid, WNOHANG);
    } catch {
      return 255;
    }
    if (r.pid === pid) return exitCodeOf(r.status);
    await Bun.sleep(i < 100 ? 1 : i < 400 ? 5 : 20);
  }
}
