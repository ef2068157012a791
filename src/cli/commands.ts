// The command table: each command is loaded only when it runs (start-up time).
import type { CommandDef } from "citty";

type Loader = () => Promise<CommandDef<any>>;
const load = (p: Promise<{ default: CommandDef<any> }>) => p.then((m) => m.default);

export const COMMANDS: Record<string, { summary: string; load: Loader; hidden?: boolean }> = {
  create: { summary: "create a container", load: () => load(import("./commands/create")) },
  start: { summary: "start a created container", load: () => load(import("./commands/start")) },
  state: { summary: "print the state of a container", load: () => load(import("./commands/state")) },
  kill: { summary: "send a signal to a container's init", load: () => load(import("./commands/kill")) },
  delete: { summary: "delete a container and what it holds", load: () => load(import("./commands/delete")) },
  run: { summary: "create and start a container, and wait for it", load: () => load(import("./commands/run")) },
  list: { summary: "list containers", load: () => load(import("./commands/list")) },
  spec: { summary: "write a default config.json", load: () => load(import("./commands/spec")) },
  exec: { summary: "run a new process in a running container", load: () => load(import("./commands/exec")) },
  ps: { summary: "list the processes of a container", load: () => load(import("./commands/ps")) },
  pause: { summary: "freeze a container", load: () => load(import("./commands/pause")) },
  resume: { summary: "thaw a paused container", load: () => load(import("./commands/resume")) },
  update: { summary: "change a container's resource limits", load: () => load(import("./commands/update")) },
  events: { summary: "container stats as JSON", load: () => load(import("./commands/events")) },
  features: { summary: "what this runtime supports (JSON)", load: () => load(import("./commands/features")) },
  bundle: { summary: "unpack a rootfs tarball into an OCI bundle", load: () => load(import("./commands/bundle")) },
  cache: { summary: "list or prune the rootfs cache of one-shot runs", load: () => load(import("./commands/cache")) },
};
