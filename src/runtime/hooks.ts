// OCI hooks: the state JSON on stdin, args, env and timeout; the caller decides what a
// failure means (fatal before start, a warning after).
import type { Hook } from "../spec/schema";
import { BuncError } from "../sys/errors";
import { describeSignalDeath, SIGNALS } from "../sys/signals";

export interface HookState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export class HookError extends BuncError {
  override name = "HookError";
}

/** Where a hook runs: its working directory and the environment it gets without `env` of its own. */
export interface HookContext { cwd?: string; env?: Record<string, string | undefined> }

/** The environment of a hook: its `env`, else the runtime's own (as runc and crun). */
export function hookEnv(hook: Hook, runtimeEnv: Record<string, string | undefined> = process.env): Record<string, string> {
  if (!hook.env) return Object.fromEntries(Object.entries(runtimeEnv).filter((e): e is [string, string] => e[1] !== undefined));
  return Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

/** runc's words for a failing hook: its kind and index ("#1" is the second), then its path. */
export const hookFailure = (kind: string, index: number, path: string) => `error running ${kind} hook #${index}: ${path}`;

export function runHook(kind: string, hook: Hook, state: HookState, ctx: HookContext = {}, index = 0): void {
  const args = hook.args?.length ? hook.args : [hook.path];
  let result;
  try {
    result = Bun.spawnSync({
      cmd: [hook.path, ...args.slice(1)],
      argv0: args[0],
      cwd: ctx.cwd,
      env: hookEnv(hook, ctx.env),
      stdin: new TextEncoder().encode(JSON.stringify(state)),
      stdout: "pipe",
      stderr: "pipe",
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
    });
  } catch (e: any) {
    throw new HookError(`${hookFailure(kind, index, hook.path)}: ${e.code ?? e.message}`);
  }
  if (result.exitedDueToTimeout) throw new HookError(`${hookFailure(kind, index, hook.path)}: timed out after ${hook.timeout}s`);
  if (!result.success) {
    const err = result.stderr?.toString().trim().split("\n").pop();
    const how = result.signalCode ? describeSignalDeath(SIGNALS[result.signalCode.slice(3)] ?? 0) : `exit status ${result.exitCode}`;
    throw new HookError(`${hookFailure(kind, index, hook.path)}: ${how}${err ? `: ${err}` : ""}`);
  }
}

export function runHooks(kind: string, hooks: Hook[] | undefined, state: HookState, ctx?: HookContext): void {
  (hooks ?? []).forEach((h, i) => runHook(kind, h, state, ctx, i));
}

/** Runs every hook, reporting failures as warnings (poststart, poststop). */
export function runHooksWarn(kind: string, hooks: Hook[] | undefined, state: HookState, warn: (m: string) => void, ctx?: HookContext): void {
  (hooks ?? []).forEach((h, i) => {
    try {
      runHook(kind, h, state, ctx, i);
    } catch (e: any) {
      warn(e.message);
    }
  });
}
