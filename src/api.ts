// The API a Bun script wants, in the spirit of Bun.spawn: `run()` runs a command in a
// tarball, a rootfs directory or a bundle and resolves to its exit code and output;
// `create()` gives a running container to `exec` in, removed by `await using`. The library
// writes nothing to stdout or stderr itself: warnings go to the `logger` the caller passes.
import { closeSync, createReadStream, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import type { Process } from "./spec/schema";
import { pipe } from "./sys/io";
import { createContainer } from "./runtime/create";
import { startContainer } from "./runtime/start";
import { deleteContainer } from "./runtime/delete";
import { waitChild } from "./runtime/wait";
import { spawnExec } from "./runtime/exec";
import { prepareOneShot } from "./runtime/oneshot";
import { BuncError } from "./sys/errors";
import { runtimeContext, type Logger, type RuntimeContext } from "./runtime/context";

export { BuncError };
export type { Logger };

export type Stdio = "pipe" | "inherit" | "ignore";

export interface RunOptions {
  /** A rootfs tarball (gzip or plain tar), a rootfs directory, or a bundle directory. */
  image: string;
  /** The command; default: the bundle's, or `sh`. */
  cmd?: string[];
  /** Extra environment, merged over the image's (KEY=VALUE strings or an object). */
  env?: Record<string, string> | string[];
  cwd?: string;
  user?: Process["user"];
  /** Anything else of config.json's process (capabilities, rlimits, ...). */
  process?: Partial<Process>;
  /** Bytes for the command's stdin (default: none). */
  stdin?: string | Uint8Array;
  /** "pipe" (default): captured in the result; "inherit": this process's; "ignore". */
  stdout?: Stdio;
  stderr?: Stdio;
  /** State directory (default: /run/bunc, or $XDG_RUNTIME_DIR/bunc when not root). */
  root?: string;
  id?: string;
  /** Where warnings and debug lines go (default: nowhere). */
  logger?: Logger;
}

export interface RunResult { exitCode: number; stdout: string; stderr: string; id: string }

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

/**
 * Runs `cmd` in a fresh container from `image` and removes it afterwards.
 *
 *   const { exitCode, stdout } = await run({ image: "alpine.tar.gz", cmd: ["cat", "/etc/alpine-release"] });
 */
export async function run(o: RunOptions): Promise<RunResult> {
  const ctx = contextOf(o);
  const id = o.id ?? `bunc-${randomBytes(6).toString("hex")}`;
  const { bundle, cleanup } = await prepareOneShot(ctx, {
    source: o.image, args: o.cmd ?? [],
    edit: (c) => {
      c.process = { ...c.process, ...o.process, terminal: false };
      if (o.env) c.process.env = mergeEnv(c.process.env, envList(o.env));
      if (o.cwd) c.process.cwd = o.cwd;
      if (o.user) c.process.user = o.user;
    },
  });
  const opened: number[] = [];
  let created = false;
  try {
    const stdin = stdinFor(o.stdin, opened);
    const out = stdioFor(o.stdout ?? "pipe", 1, opened), err = stdioFor(o.stderr ?? "pipe", 2, opened);
    const reads = [out.read, err.read].map((fd) => (fd === undefined ? Promise.resolve("") : collect(fd)));
    let c;
    try {
      c = createContainer(ctx, { id, bundle, stdio: [stdin.child, out.child, err.child] });
      created = true;
    } finally {
      // The container holds its ends now: ours close, so EOF comes when it exits.
      for (const fd of opened.splice(0)) closeSync(fd);
    }
    if (stdin.write?.length) writeSync(stdin.fd!, stdin.write);
    closeSync(stdin.fd!);
    startContainer(ctx, id);
    const exitCode = await waitChild(c.pid);
    const [stdout, stderr] = await Promise.all(reads);
    return { exitCode, stdout, stderr, id };
  } finally {
    for (const fd of opened) try { closeSync(fd); } catch {}
    if (created) deleteContainer(ctx, id, true);
    cleanup();
  }
}

export interface ContainerHandle extends AsyncDisposable {
  id: string;
  pid: number;
  /** Runs a command in the container; resolves like `run()`. */
  exec(cmd: string[], opts?: { env?: RunOptions["env"]; cwd?: string; user?: Process["user"] }): Promise<RunResult>;
  /** Kills and removes the container (also what `await using` does). */
  remove(): Promise<void>;
}

/**
 * A running container from `image` (its command, or `cmd`), removed when the handle is
 * disposed:
 *
 *   await using box = await create({ image: "alpine.tar.gz", cmd: ["sleep", "60"] });
 *   const { stdout } = await box.exec(["uname", "-a"]);
 */
export async function create(o: Omit<RunOptions, "stdin" | "stdout" | "stderr">): Promise<ContainerHandle> {
  const ctx = contextOf(o);
  const id = o.id ?? `bunc-${randomBytes(6).toString("hex")}`;
  const { bundle, cleanup } = await prepareOneShot(ctx, {
    source: o.image, args: o.cmd ?? [],
    edit: (c) => {
      c.process = { ...c.process, ...o.process, terminal: false };
      if (o.env) c.process.env = mergeEnv(c.process.env, envList(o.env));
      if (o.cwd) c.process.cwd = o.cwd;
      if (o.user) c.process.user = o.user;
    },
  });
  const devnull = require("node:fs").openSync("/dev/null", "r+");
  let c;
  try {
    c = createContainer(ctx, { id, bundle, stdio: [devnull, devnull, devnull] });
    startContainer(ctx, id);
  } catch (e) {
    try { deleteContainer(ctx, id, true); } catch {}
    cleanup();
    throw e;
  } finally {
    closeSync(devnull);
  }
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    try { deleteContainer(ctx, id, true); } finally { cleanup(); }
  };
  return {
    id, pid: c.pid, remove,
    [Symbol.asyncDispose]: remove,
    async exec(cmd, e = {}) {
      const base = c.state.config.process!;
      const p: Process = { ...base, args: cmd, terminal: false, env: e.env ? mergeEnv(base.env, envList(e.env)) : base.env, cwd: e.cwd ?? base.cwd, user: e.user ?? base.user };
      const opened: number[] = [];
      const out = stdioFor("pipe", 1, opened), err = stdioFor("pipe", 2, opened);
      const reads = [collect(out.read!), collect(err.read!)];
      const devnull = require("node:fs").openSync("/dev/null", "r");
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
