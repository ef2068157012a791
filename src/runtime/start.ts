// `start`: opens the exec fifo, which lets the init exec the user's program, then runs
// the poststart hooks.
import { O } from "../sys/arch";
import { closeFd, openPath, readFd, unlinkPath } from "../sys/files";
import { pollIn } from "../sys/io";
import { BuncError } from "../sys/errors";
import { FIFO, isAlive, withContainer, type Container } from "./state";
import { requireStatus } from "./status";
import type { InitFailure } from "./init";
import { tracer, type Trace } from "./trace";
import type { RuntimeContext } from "./context";

// A start that succeeds needs none of the modules below (each bunc command is a fresh
// process): they are loaded on the failure paths and for hooks.
const waitGone = (c: Container) => (require("./wait") as typeof import("./wait")).waitGone(c);

// sd_notify (notify-socket.ts): loaded only when the caller set NOTIFY_SOCKET.
const notifyModule = () => require("./notify-socket") as typeof import("./notify-socket");

/**
 * `start`: the go, then, with NOTIFY_SOCKET set, the wait for the program's READY= (as runc's
 * start), once the container's lock is let go: `state` and `kill` need not wait for it.
 */
export function startContainer(ctx: RuntimeContext, id: string, notifySocket?: string): Container {
  const { container: c, notify } = releaseContainer(ctx, id, notifySocket);
  if (notify) try {
    notifyModule().relayReady(notify.sock, notify.host, c.pid, () => isAlive(c.pid, c.state.pidStartTime));
  } finally {
    closeFd(notify.sock);
  }
  return c;
}

/** The caller's notify socket and the container's, bound before the go (run waits on it itself). */
export interface NotifyRelay { host: string; sock: number }

/** `start` under the container's lock: the notify socket bound (when asked), the go, the poststart hooks. */
export function releaseContainer(ctx: RuntimeContext, id: string, notifySocket?: string): { container: Container; notify?: NotifyRelay } {
  const trace = tracer(`start ${id}`, ctx.log.debug);
  let notify: NotifyRelay | undefined;
  const container = withContainer(ctx.root, id, (c) => {
    const status = c.status();
    trace(`locked; status ${status}, init pid ${c.pid}`);
    requireStatus(c, "start", status);
    // Bound before the go, so that the program finds it from its first instruction.
    const sock = notifySocket ? notifyModule().bindNotifySocket(c.dir) : -1;
    if (sock < 0) return go(ctx, c, trace);
    try {
      go(ctx, c, trace);
    } catch (e) {
      closeFd(sock);
      throw e;
    }
    notify = { host: notifySocket!, sock };
    return c;
  });
  return { container, notify };
}

function go(ctx: RuntimeContext, c: Container, trace: Trace): Container {
  const fifo = `${c.dir}/${FIFO}`;
  const fd = openPath(fifo, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
  let reply: Uint8Array;
  try {
    reply = readStartReply(fd, c);
  } finally {
    closeFd(fd);
  }
  trace("exec fifo read to EOF: the init executed the program");
  unlinkPath(fifo);
  const failure = startFailure(reply, c);
  if (failure) {
    // The init exits right after reporting: `start` returns once the container is stopped.
    waitGone(c);
    throw new StartError(`cannot start container ${c.state.id}: ${failure.message}`, failure.exitCode);
  }
  const poststart = c.state.config.hooks?.poststart;
  if (poststart?.length) try {
    (require("./hooks") as typeof import("./hooks")).runHooks("poststart", poststart, c.hookState("running"), { cwd: c.state.bundle });
  } catch (e: any) {
    // Runtime spec 1.3 (runtime.md, lifecycle step 9): a failing poststart hook is an
    // error; the container is stopped and waits for `delete`.
    (require("./cgroups") as typeof import("./cgroups")).containerCgroups(c.state, ctx.log.warn)?.killAll(9);
    (require("../sys/proc") as typeof import("../sys/proc")).sendSignal(c.pid, 9);
    waitGone(c);
    throw new StartError(`cannot start container ${c.state.id}: ${e.message}`, 1);
  }
  trace(`${c.state.config.hooks?.poststart?.length ?? 0} poststart hooks run`);
  return c;
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
  for (;;) {
    // Woken by the go byte, a failure record, or the hang-up at execve; a writer that never
    // came (the init died before opening its end) is caught by the liveness check.
    if (!pollIn(fd, 100)) {
      if (!isAlive(c.pid, c.state.pidStartTime)) throw new BuncError("cannot start container: its init exited");
      continue;
    }
    let n: number;
    try {
      n = readFd(fd, buf);
    } catch (e: any) {
      if (e.code === "EAGAIN") continue;
      throw e;
    }
    if (n > 0) {
      chunks.push(buf.slice(0, n));
      got += n;
      continue;
    }
    // EOF: the init's end closed, at execve or on its way out.
    if (got === 0) throw new BuncError("cannot start container: its init exited");
    return Buffer.concat(chunks);
  }
}

function startFailure(reply: Uint8Array, c: Container): InitFailure | undefined {
  if (reply.length <= 1) return undefined;
  const { decodeFailure, describeFailure } = require("../sys/native-request") as typeof import("../sys/native-request");
  const native = decodeFailure(reply.subarray(1));
  if (native) {
    const p = c.state.config.process!;
    const hooks = c.state.config.hooks?.startContainer?.map((h) => h.path);
    const cpusetCpus = c.state.config.linux?.resources?.cpu?.cpus;
    return { message: describeFailure(native, { program: p.args[0], cwd: p.cwd, hooks, apparmorProfile: p.apparmorProfile, selinuxLabel: p.selinuxLabel, cpusetCpus }), exitCode: native.exitCode };
  }
  const text = new TextDecoder().decode(reply.subarray(1));
  try {
    const f = JSON.parse(text) as InitFailure;
    return { message: String(f.message), exitCode: Number(f.exitCode) || 1 };
  } catch {
    return { message: text, exitCode: 1 };
  }
}

