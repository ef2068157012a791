// The API a Bun script wants, in the spirit of Bun.spawn: `run()` runs a command in a
// tarball, a rootfs directory or a bundle and resolves to its exit code and output;
// `create()` gives a running container to `exec` in, removed by `await using`. The library
// writes nothing to stdout or stderr itself: warnings go to the `logger` the caller passes.
import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { randomHex } from "./sys/random-id";
import type { Process } from "./spec/schema";
import { pipe } from "./sys/io";
import { createContainer } from "./runtime/create";
import { startContainer } from "./runtime/start";
import { deleteContainer } from "./runtime/delete";
import { waitChild } from "./runtime/wait";
import { spawnExec } from "./runtime/exec";
import { prepareOneShot } from "./runtime/oneshot";
import { API_LABELS, planOneShot, type OneShotPlan, type OneShotSettings } from "./runtime/oneshot-options";
import { sendSignal } from "./sys/proc";
import { BuncError } from "./sys/errors";
import { runtimeContext, type Logger, type RuntimeContext } from "./runtime/context";

export { BuncError };
export type { Logger };

export type Stdio = "pipe" | "inherit" | "ignore";

export type { MountOption, BindMount, TmpfsMount, ResourceOptions } from "./runtime/oneshot-options";

export interface RunOptions extends OneShotSettings {
  /**
   * An image — an OCI layout directory, an OCI archive or a docker archive (`podman save`,
   * `docker save`), `PATH:TAG` when it holds several — or a rootfs tarball (gzip or plain
   * tar), a rootfs directory, or a bundle directory.
   */
  image: string;
  /** The command; default: the image's Entrypoint + Cmd (a cmd replaces Cmd), the bundle's, or `sh`. */
  cmd?: string[];
  /** Files of KEY=VALUE lines (docker's --env-file), applied before `env`. */
  envFile?: string | string[];
  /** Anything else of config.json's process (capabilities, rlimits, ...). */
  process?: Partial<Process>;
  /** Bytes for the command's stdin (default: none). */
  stdin?: string | Uint8Array;
  /**
   * "pipe" (default): captured in the result and readable as it comes from the returned
   * promise's `stdout`/`stderr` streams; "inherit": this process's; "ignore".
   */
  stdout?: Stdio;
  stderr?: Stdio;
  /** Kills and removes the container when aborted; run() then rejects. */
  signal?: AbortSignal;
  /** Milliseconds: the container is killed and removed after this long; run() then rejects. */
  timeout?: number;
  /** State directory (default: /run/bunc, or $XDG_RUNTIME_DIR/bunc when not root). */
  root?: string;
  id?: string;
  /** Where warnings and debug lines go (default: nowhere). */
  logger?: Logger;
}

export interface RunResult { exitCode: number; stdout: string; stderr: string; id: string }

/** What run() returns: a promise of the result, with the output as streams while it runs. */
export interface RunProcess extends Promise<RunResult> {
  id: string;
  /** The command's output as it comes (with `stdout: "pipe"`, the default); also captured in the result. */
  stdout?: ReadableStream<Uint8Array>;
  stderr?: ReadableStream<Uint8Array>;
}

function defaultRoot(): string {
  if (process.geteuid?.() !== 0 && process.env.XDG_RUNTIME_DIR) return `${process.env.XDG_RUNTIME_DIR}/bunc`;
  return "/run/bunc";
}

const contextOf = (o: Pick<RunOptions, "root" | "logger">): RuntimeContext => runtimeContext(o.root ?? defaultRoot(), o.logger);

const envList = (env: RunOptions["env"]) => (Array.isArray(env) ? env : Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`));

function mergeEnv(base: string[] = [], extra: string[]): string[] {
  const keys = new Set(extra.map((e) => e.slice(0, e.indexOf("="))));
  return [...base.filter((e) => !keys.has(e.slice(0, e.indexOf("=")))), ...extra];
}

/** The read end collected as text; resolves at EOF. */
function collect(fd: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream("", { fd, autoClose: true })
      .on("data", (c) => chunks.push(c as Buffer))
      .on("end", () => resolve(Buffer.concat(chunks).toString()))
      .on("error", reject);
  });
}

/** The container's stdio fds for `mode`, what to close after create, and what to read. */
function stdioFor(mode: Stdio, fd: 1 | 2, opened: number[]): { child: number; read?: number } {
  if (mode === "inherit") return { child: fd };
  if (mode === "ignore") {
    const n = require("node:fs").openSync("/dev/null", "w");
    opened.push(n);
    return { child: n };
  }
  const [r, w] = pipe();
  opened.push(w);
  return { child: w, read: r };
}

function stdinFor(input: RunOptions["stdin"], opened: number[]): { child: number; write?: Uint8Array; fd?: number } {
  const [r, w] = pipe();
  opened.push(r);
  return { child: r, write: typeof input === "string" ? new TextEncoder().encode(input) : input ?? new Uint8Array(), fd: w };
}

/** Checks every option before anything is made (one line naming the option). */
function planOf(o: RunOptions): OneShotPlan {
  if (o === null || typeof o !== "object") throw new BuncError("options: expected an object with at least { image }");
  if (typeof o.image !== "string" || !o.image) throw new BuncError("image: expected a path to an image (OCI layout, OCI or docker archive), a rootfs tarball, a rootfs directory or a bundle");
  if (o.cmd !== undefined && (!Array.isArray(o.cmd) || o.cmd.some((a) => typeof a !== "string"))) throw new BuncError(`cmd ${JSON.stringify(o.cmd)}: expected an array of strings`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new BuncError("signal: expected an AbortSignal");
  if (o.timeout !== undefined && !(typeof o.timeout === "number" && Number.isFinite(o.timeout) && o.timeout > 0)) throw new BuncError(`timeout ${o.timeout}: expected a positive number of milliseconds`);
  for (const k of ["stdout", "stderr"] as const) {
    if (o[k] !== undefined && !["pipe", "inherit", "ignore"].includes(o[k]!)) throw new BuncError(`${k} ${o[k]}: expected "pipe", "inherit" or "ignore"`);
  }
  const envFiles = o.envFile === undefined ? [] : [o.envFile].flat();
  return planOneShot({ ...o, envFiles }, API_LABELS);
}

const editFor = (o: RunOptions) => (c: any) => {
  c.process = { ...c.process, ...o.process, terminal: false };
};

/** The signal and the timeout: once either fires, `reason` is set and the registered kill runs. */
function stopper(o: RunOptions, id: string) {
  let reason: BuncError | undefined;
  let kill: (() => void) | undefined;
  const fire = (e: BuncError) => {
    if (reason) return;
    reason = e;
    kill?.();
  };
  const onAbort = () => fire(new BuncError(`container ${id}: aborted; it was killed and removed`, { exitCode: 130, cause: o.signal?.reason }));
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = o.timeout === undefined ? undefined : setTimeout(() => fire(new BuncError(`container ${id}: timed out after ${o.timeout} ms; it was killed and removed`, 124)), o.timeout);
  return {
    get reason() { return reason; },
    /** What stopping does once the container exists (at once if it already fired). */
    onStop(f: () => void) {
      kill = f;
      if (reason) f();
    },
    dispose() {
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** A ReadableStream fed as the output arrives (kept as well for the captured string). */
class Sink {
  private ctrl!: ReadableStreamDefaultController<Uint8Array>;
  private done = false;
  readonly stream = new ReadableStream<Uint8Array>({ start: (c) => void (this.ctrl = c) });
  push(b: Uint8Array) {
    if (!this.done) try { this.ctrl.enqueue(new Uint8Array(b)); } catch {}
  }
  close() {
    if (this.done) return;
    this.done = true;
    try { this.ctrl.close(); } catch {}
  }
}

/** The read end collected as text (and fed to `sink`); resolves at EOF. */
function collectInto(fd: number | undefined, sink?: Sink): Promise<string> {
  if (fd === undefined) return Promise.resolve("");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream("", { fd, autoClose: true })
      .on("data", (c) => { chunks.push(c as Buffer); sink?.push(c as Buffer); })
      .on("end", () => { sink?.close(); resolve(Buffer.concat(chunks).toString()); })
      .on("error", (e) => { sink?.close(); reject(e); });
  });
}

/**
 * Runs `cmd` in a fresh container from `image` and removes it afterwards. The promise
 * resolves to the exit code and the captured output; while it runs, its `stdout` and
 * `stderr` are the output as `ReadableStream`s.
 *
 *   const { exitCode, stdout } = await run({ image: "alpine.tar.gz", cmd: ["cat", "/etc/alpine-release"] });
 */
export function run(o: RunOptions): RunProcess {
  const id = o?.id ?? `bunc-${randomHex(6)}`;
  const sinks = [o?.stdout ?? "pipe", o?.stderr ?? "pipe"].map((m) => (m === "pipe" ? new Sink() : undefined));
  const p = runIn(o, id, sinks).finally(() => sinks.forEach((s) => s?.close()));
  return Object.assign(p, { id, stdout: sinks[0]?.stream, stderr: sinks[1]?.stream });
}

async function runIn(o: RunOptions, id: string, sinks: (Sink | undefined)[]): Promise<RunResult> {
  const plan = planOf(o);
  const ctx = contextOf(o);
  const stop = stopper(o, id);
  try {
    if (stop.reason) throw stop.reason;
    const { bundle, cleanup } = await prepareOneShot(ctx, { source: o.image, args: o.cmd ?? [], edit: editFor(o), plan });
    const opened: number[] = [];
    let created = false;
    try {
      if (stop.reason) throw stop.reason;
      const stdin = stdinFor(o.stdin, opened);
      const out = stdioFor(o.stdout ?? "pipe", 1, opened), err = stdioFor(o.stderr ?? "pipe", 2, opened);
      const reads = [collectInto(out.read, sinks[0]), collectInto(err.read, sinks[1])];
      let c;
      try {
        c = createContainer(ctx, { id, bundle, stdio: [stdin.child, out.child, err.child] });
        created = true;
      } finally {
        // The container holds its ends now: ours close, so EOF comes when it exits.
        for (const fd of opened.splice(0)) closeSync(fd);
      }
      const pid = c.pid;
      stop.onStop(() => void sendSignal(pid, 9));
      startContainer(ctx, id);
      // After start, so that input larger than a pipe cannot block before the command reads.
      try {
        if (stdin.write?.length) writeSync(stdin.fd!, stdin.write);
      } catch {} // EPIPE: the command did not read it all
      closeSync(stdin.fd!);
      const exitCode = await waitChild(pid);
      const [stdout, stderr] = await Promise.all(reads);
      if (stop.reason) throw stop.reason;
      return { exitCode, stdout, stderr, id };
    } catch (e) {
      throw stop.reason ?? e;
    } finally {
      for (const fd of opened) try { closeSync(fd); } catch {}
      if (created) deleteContainer(ctx, id, true);
      cleanup();
    }
  } finally {
    stop.dispose();
  }
}

export interface ContainerHandle extends AsyncDisposable {
  id: string;
  pid: number;
  /** The container's command's output, with `stdout: "pipe"` / `stderr: "pipe"` (read as it comes). */
  stdout?: ReadableStream<Uint8Array>;
  stderr?: ReadableStream<Uint8Array>;
  /** Resolves to the command's exit status (128+n on signal n) once it exits. */
  readonly exited: Promise<number>;
  /** Runs a command in the container; resolves like `run()`. */
  exec(cmd: string[], opts?: { env?: RunOptions["env"]; cwd?: string; user?: Process["user"] }): Promise<RunResult>;
  /** Kills and removes the container (also what `await using`, `signal` and `timeout` do). */
  remove(): Promise<void>;
}

/** A pipe's read end as a stream that reads only once someone reads it (as Bun.spawn's). */
function lazyStream(fd: number): { stream: ReadableStream<Uint8Array>; discard: () => void } {
  let started = false, discarded = false;
  const discard = () => {
    if (started || discarded) return;
    discarded = true;
    closeSync(fd);
  };
  const stream = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (started || discarded) return;
      started = true;
      createReadStream("", { fd, autoClose: true })
        .on("data", (c) => ctrl.enqueue(new Uint8Array(c as Buffer)))
        .on("end", () => { try { ctrl.close(); } catch {} })
        .on("error", (e) => ctrl.error(e));
    },
    cancel: discard,
  }, { highWaterMark: 0 });
  return { stream, discard };
}

/**
 * A running container from `image` (its command, or `cmd`), removed when the handle is
 * disposed, when `signal` aborts or after `timeout` ms. Takes run()'s options but stdin
 * (which is /dev/null); stdout and stderr default to "ignore".
 *
 *   await using box = await create({ image: "alpine.tar.gz", cmd: ["sleep", "60"] });
 *   const { stdout } = await box.exec(["uname", "-a"]);
 */
export async function create(o: Omit<RunOptions, "stdin">): Promise<ContainerHandle> {
  const plan = planOf(o as RunOptions);
  const ctx = contextOf(o);
  const id = o.id ?? `bunc-${randomHex(6)}`;
  const stop = stopper(o as RunOptions, id);
  let prepared: Awaited<ReturnType<typeof prepareOneShot>>;
  try {
    if (stop.reason) throw stop.reason;
    prepared = await prepareOneShot(ctx, { source: o.image, args: o.cmd ?? [], edit: editFor(o as RunOptions), plan });
  } catch (e) {
    stop.dispose();
    throw e;
  }
  const { bundle, cleanup } = prepared;
  const opened: number[] = [];
  const streams: ReturnType<typeof lazyStream>[] = [];
  let c, handleStreams: { stdout?: ReadableStream<Uint8Array>; stderr?: ReadableStream<Uint8Array> };
  try {
    if (stop.reason) throw stop.reason;
    const devnull = openSync("/dev/null", "r");
    opened.push(devnull);
    const [out, err] = ([["stdout", 1], ["stderr", 2]] as const).map(([k, fd]) => {
      const s = stdioFor(o[k] ?? "ignore", fd, opened);
      if (s.read !== undefined) streams.push(lazyStream(s.read));
      return { ...s, stream: s.read === undefined ? undefined : streams.at(-1)!.stream };
    });
    try {
      c = createContainer(ctx, { id, bundle, stdio: [devnull, out!.child, err!.child] });
    } finally {
      for (const fd of opened.splice(0)) closeSync(fd);
    }
    startContainer(ctx, id);
    handleStreams = { stdout: out!.stream, stderr: err!.stream };
  } catch (e) {
    for (const fd of opened) try { closeSync(fd); } catch {}
    for (const s of streams) s.discard();
    try { deleteContainer(ctx, id, true); } catch {}
    cleanup();
    stop.dispose();
    throw stop.reason ?? e;
  }
  const pid = c.pid;
  let exited: Promise<number> | undefined;
  let removing: Promise<void> | undefined;
  const remove = () =>
    (removing ??= (async () => {
      stop.dispose();
      try {
        if (exited) {
          // Someone waits for the exit status: it stays ours to reap.
          sendSignal(pid, 9);
          await exited;
        }
        deleteContainer(ctx, id, true);
      } finally {
        for (const s of streams) s.discard();
        cleanup();
      }
    })());
  stop.onStop(() => void remove().catch((e) => ctx.log.warn(`container ${id}: ${e?.message ?? e}`)));
  const container = c;
  return {
    id, pid, remove, ...handleStreams,
    get exited() {
      return (exited ??= waitChild(pid));
    },
    [Symbol.asyncDispose]: remove,
    async exec(cmd, e = {}) {
      const base = container.state.config.process!;
      const p: Process = { ...base, args: cmd, terminal: false, env: e.env ? mergeEnv(base.env, envList(e.env)) : base.env, cwd: e.cwd ?? base.cwd, user: e.user ?? base.user };
      const opened: number[] = [];
      const out = stdioFor("pipe", 1, opened), err = stdioFor("pipe", 2, opened);
      const reads = [collect(out.read!), collect(err.read!)];
      const devnull = openSync("/dev/null", "r");
      opened.push(devnull);
      let pid: number;
      try {
        pid = spawnExec(ctx, { id, process: p, stdio: [devnull, out.child, err.child] }).pid;
      } finally {
        for (const fd of opened) closeSync(fd);
      }
      const exitCode = await waitChild(pid);
      const [stdout, stderr] = await Promise.all(reads);
      return { exitCode, stdout, stderr, id };
    },
  };
}
