// `run`: create + start, then (in the foreground) forward signals to the init, wait
// for it as its parent, and delete the container unless --keep.
import { createContainer, type CreateOptions } from "./create";
import { deleteContainer, startContainer, waitChild } from "./lifecycle";
import { libc } from "../sys/libc";

export interface RunOptions extends CreateOptions { detach?: boolean; keep?: boolean }

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;
const NUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15, SIGWINCH: 28 };

export async function runContainer(o: RunOptions): Promise<number> {
  const c = createContainer(o);
  try {
    startContainer(o.root, o.id, o.warn);
  } catch (e) {
    deleteContainer(o.root, o.id, true, o.warn);
    throw e;
  }
  if (o.detach) return 0;
  const forward = (sig: string) => libc.kill(c.pid, NUM[sig]!);
  for (const s of FORWARDED) process.on(s, forward);
  const code = await waitChild(c.pid);
  for (const s of FORWARDED) process.off(s, forward);
  if (!o.keep) deleteContainer(o.root, o.id, true, o.warn);
  return code;
}
