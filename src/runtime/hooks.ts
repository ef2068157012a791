// OCI hooks: the state JSON on stdin, args, env and timeout; the caller decides what a
// failure means (fatal before start, a warning after).
import type { Hook } from "../spec/schema";

export interface HookState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export class HookError extends Error {}

export function runHook(kind: string, hook: Hook, state: HookState): void {
  const args = hook.args?.length ? hook.args : [hook.path];
  let result;
  try {
    result = Bun.spawnSync({
      cmd: [hook.path, ...args.slice(1)],
      argv0: args[0],
      env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      stdin: new TextEncoder().encode(JSON.stringify(state)),
      stdout: "pipe",
      stderr: "pipe",
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
    });
  } catch (e: any) {
    throw new HookError(`${kind} hook ${hook.path}: ${e.code ?? e.message}`);
  }
  if (result.exitedDueToTimeout) throw new HookError(`${kind} hook ${hook.path}: timed out after ${hook.timeout}s`);
  if (!result.success) {
    const err = result.stderr?.toString().trim().split("\n").pop();
    const how = result.signalCode ? `killed by ${result.signalCode}` : `exit status ${result.exitCode}`;
    throw new HookError(`${kind} hook ${hook.path} failed: ${how}${err ? `: ${err}` : ""}`);
  }
}

export function runHooks(kind: string, hooks: Hook[] | undefined, state: HookState): void {
  for (const h of hooks ?? []) runHook(kind, h, state);
}

/** Runs every hook, reporting failures as warnings (poststart, poststop). */
export function runHooksWarn(kind: string, hooks: Hook[] | undefined, state: HookState, warn: (m: string) => void): void {
  for (const h of hooks ?? []) {
    try {
      runHook(kind, h, state);
    } catch (e: any) {
      warn(e.message);
    }
  }
}
