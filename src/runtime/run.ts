// `run`: create + start, then (in the foreground) forward signals to the init, wait
// for it as its parent, and delete the container unless --keep.
import { createContainer, type CreateOptions } from "./create";
import { releaseContainer, startContainer, StartError, type NotifyRelay } from "./start";
import { deleteContainer } from "./delete";
import { forwardSignals, waitChild, type SignalForwarder } from "./wait";
import { BuncError } from "../sys/errors";
import { reapExited, setChildSubreaper } from "../sys/proc";
import { drainTerminal, relayTerminal } from "./tty-relay";
import type { RuntimeContext } from "./context";
import type { StdioRelay } from "./stdio-relay";

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  keep?: boolean;
  /**
   * In the foreground, become a child subreaper (runc's default; its --no-subreaper turns it
   * off): a container without a PID namespace of its own leaves its orphans to this process,
   * which reaps them, instead of to the host's init. Off unless asked (a library caller's
   * process is its own).
   */
  subreaper?: boolean;
}

export async function runContainer(ctx: RuntimeContext, o: RunOptions): Promise<number> {
  // Before the container exists: what comes while it is made waits for it (wait.ts).
  const forwarder = o.detach ? undefined : forwardSignals();
  try {
    return await runForwarding(ctx, o, forwarder);
  } finally {
    forwarder?.stop();
  }
}

async function runForwarding(ctx: RuntimeContext, o: RunOptions, forwarder: SignalForwarder | undefined): Promise<number> {
  const c = createContainer(ctx, { ...o, relayTerminal: !o.detach && !o.consoleSocket, relayStdio: !o.detach });
  // After create: the native stages make this process a subreaper for the clone and undo it.
  const subreaper = !!forwarder && !!o.subreaper;
  if (subreaper) setChildSubreaper(true);
  // Copying from now: what a failing startContainer hook writes is shown too.
  const piped = c.stdioPipes ? (require("./stdio-relay") as typeof import("./stdio-relay")).relayStdio(c.stdioPipes) : undefined;
  let notify: NotifyRelay | undefined;
  try {
    // Detached, start waits for the program's READY= (NOTIFY_SOCKET) as `start` does; in the foreground it is watched for below.
    if (forwarder) notify = releaseContainer(ctx, o.id, o.notifySocket).notify;
    else startContainer(ctx, o.id, o.notifySocket);
  } catch (e) {
    if (c.consoleMaster !== undefined) drainTerminal(c.consoleMaster);
    deleteContainer(ctx, o.id, true);
    if (piped) await endRelay(piped);
    // As after any run: the exit status is the container's (127/126 for its program, 1 for setup).
    if (e instanceof StartError) throw new BuncError(e.message, e.containerExitCode);
    throw e;
  }
  if (!forwarder) return 0; // detached (no pipes then: relayStdio is only asked in the foreground)
  const relay = c.consoleMaster !== undefined ? relayTerminal(c.consoleMaster) : undefined;
  forwarder.to(c.pid, !!relay);
  const stopNotify = notify && (require("./notify-socket") as typeof import("./notify-socket")).watchReady(notify.sock, notify.host, c.pid);
  const code = await waitChild(c.pid, subreaper);
  stopNotify?.();
  ctx.log.debug?.(`run ${o.id}: init ${c.pid} exited with ${code}`);
  forwarder.ended();
  if (relay) {
    await Promise.race([relay.done, Bun.sleep(500)]);
    relay.stop();
  }
  if (!o.keep) deleteContainer(ctx, o.id, true);
  // The orphans delete ended are this subreaper's zombies now: reaped before bunc goes.
  if (subreaper) reapExited();
  // After delete: every writer in the container is gone, so the pipes reach their end.
  if (piped) await endRelay(piped);
  return code;
}

async function endRelay(r: StdioRelay): Promise<void> {
  await r.done;
  r.stop();
}
