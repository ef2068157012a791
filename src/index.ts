// bunc as a library: what the CLI does, for Bun scripts. Every operation takes a
// RuntimeContext (the state directory and a logger) first.
export { runtimeContext, type RuntimeContext, type Logger } from "./runtime/context";
export { createContainer, type CreateOptions } from "./runtime/create";
export { startContainer } from "./runtime/start";
export { killContainer } from "./runtime/kill";
export { deleteContainer } from "./runtime/delete";
export { runContainer, type RunOptions as RunContainerOptions } from "./runtime/run";
export { execInContainer, spawnExec, type ExecOptions } from "./runtime/exec";
export { pauseContainer, resumeContainer } from "./runtime/pause";
export { containerPids } from "./runtime/ps";
export { updateContainer } from "./runtime/update";
export { statsEvent } from "./runtime/events";
export { loadContainer, listContainers, Container, type StoredState } from "./runtime/state";
export type { Status } from "./runtime/status";
export { parseSignal } from "./runtime/signals";
export { features } from "./runtime/features";
export { BuncError } from "./sys/errors";
export { readConfig, parseConfig } from "./spec/parse";
export { ConfigSchema, type Config } from "./spec/schema";
export { defaultSpec } from "./spec/default";
export { createBundle, unpackRootfs } from "./bundle";

import { loadContainer, readProcStat } from "./runtime/state";
import { waitChild, waitGone } from "./runtime/wait";
import type { RuntimeContext } from "./runtime/context";

/**
 * Waits until the container's init exits. When this process created it, the init is its
 * child and the exit status is returned (128+n for signal n); otherwise undefined.
 */
export async function waitForExit(ctx: RuntimeContext, id: string): Promise<number | undefined> {
  const c = loadContainer(ctx.root, id);
  if (readProcStat(c.pid)?.ppid === process.pid) return waitChild(c.pid);
  while (!waitGone(c, 60_000));
  return undefined;
}

// The Bun.spawn-like API: run() and create() (see docs/library.md).
export { run, create, type RunOptions, type RunResult, type RunProcess, type ContainerHandle, type Stdio, type MountOption, type BindMount, type TmpfsMount, type ResourceOptions } from "./api";
export { SyscallError } from "./sys/libc";
// A throwaway container per `bun test` test, removed when the test ends, fails or times out.
export { useContainer, withContainer, type ContainerOptions } from "./testing";
