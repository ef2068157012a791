// What the image's config decides for the container, as docker decides it: the command is
// Entrypoint + Cmd (a command given replaces Cmd), the environment is Env (with a default
// PATH when it has none), the directory WorkingDir, the user User. The one-shot's own
// -e/-w/-u are applied over this (oneshot-options.ts).
import { BuncError } from "../sys/errors";
import type { ImageConfig } from "./schema";

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ImageProcess { args: string[]; env: string[]; cwd: string; user?: string }

export function imageProcess(config: ImageConfig, cmd: string[], label: string): ImageProcess {
  const c = config.config ?? {};
  const args = [...(c.Entrypoint ?? []), ...(cmd.length ? cmd : c.Cmd ?? [])];
  if (!args.length) throw new BuncError(`${label}: the image has no Entrypoint or Cmd: give the command after --`);
  const env = c.Env ?? [];
  return {
    args,
    env: env.some((e) => e.startsWith("PATH=")) ? env : [DEFAULT_PATH, ...env],
    cwd: c.WorkingDir || "/",
    user: c.User || undefined,
  };
}
