// The container statuses (runtime spec, runtime.md "State") and which operation each
// allows. The lifecycle, as runc's state machine:
//
//   creating --create--> created --start--> running <--pause/resume--> paused
//   created, running, paused --kill, exit, delete --force--> stopped --delete--> (gone)
//
// The status is never stored (see state.ts): every operation derives it, then asks here.
import { BuncError } from "../sys/errors";

export const STATUSES = ["creating", "created", "running", "paused", "stopped"] as const;
export type Status = (typeof STATUSES)[number];

/**
 * The statuses each operation runs in. Under the container's lock a create is never
 * under way, so `creating` is only seen by exec and by readers such as `state`.
 */
const ALLOWED = {
  start: ["created"],
  kill: ["created", "running", "paused"],
  // As runc: what is left in the cgroup is signalled even once the init is gone.
  "kill --all": ["created", "running", "paused", "stopped"],
  // As runc: a created container is frozen too (its init waits on the exec fifo).
  pause: ["created", "running"],
  resume: ["paused"],
  // Without --force (which deletes in any status). A created container too, as runc: nothing ran yet.
  delete: ["created", "stopped"],
  exec: ["created", "running"],
  // The process starts frozen, and runs once the container is resumed.
  "exec --ignore-paused": ["created", "running", "paused"],
  update: ["created", "running", "paused"],
  stats: ["created", "running", "paused"],
  // Refused: a stopped container has no processes to list (not an error).
  ps: ["created", "running", "paused"],
} as const satisfies Record<string, readonly Status[]>;

export type Operation = keyof typeof ALLOWED;

/** The error of each operation refused in `status` (the messages runc users know). */
const REFUSAL: Record<Exclude<Operation, "ps">, (status: Status, id: string) => string> = {
  start: (s) => `cannot start a container that is ${s}`,
  kill: () => "container not running",
  "kill --all": () => "container not running",
  pause: (s) => `cannot pause a container that is ${s}`,
  resume: (s) => `cannot resume a container that is ${s}`,
  delete: (s, id) => `cannot delete container ${id} that is not stopped: ${s}`,
  exec: (s) => (s === "paused" ? "cannot exec in a paused container (use --ignore-paused to override)" : `cannot exec in a ${s} container`),
  "exec --ignore-paused": (s) => `cannot exec in a ${s} container`,
  update: (s) => `cannot update a ${s} container`,
  stats: (_, id) => `container ${id} is not running`,
};

export function allows(op: Operation, status: Status): boolean {
  return (ALLOWED[op] as readonly Status[]).includes(status);
}

/**
 * Throws the operation's error unless `status` (by default the container's, derived
 * now) allows it; returns the status.
 */
export function requireStatus(c: { id: string; status(): Status }, op: keyof typeof REFUSAL, status: Status = c.status()): Status {
  if (!allows(op, status)) throw new BuncError(REFUSAL[op](status, c.id));
  return status;
}
