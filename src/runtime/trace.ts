// --debug traces of the lifecycle steps, each with the time since the operation began
// (runc's --debug shows the same steps). Without a debug callback nothing is built.
import type { NamespacePlan } from "../linux/namespaces";
import type { Config } from "../spec/schema";

export type Debug = (msg: string) => void;
/** A step's line, or a function building it: called only under --debug (a description may load modules). */
export type Trace = (msg: string | (() => string)) => void;

export function tracer(op: string, debug: Debug | undefined): Trace {
  if (!debug) return () => {};
  const t0 = performance.now();
  return (msg) => debug(`${op}: ${typeof msg === "function" ? msg() : msg} (+${(performance.now() - t0).toFixed(1)} ms)`);
}

/** Namespace names of a clone/unshare flag set. */
export function nsNames(flags: number): string[] {
  // Loaded here: start and delete trace too, and need nothing of the namespaces module.
  const { CLONE_FLAGS } = require("../linux/namespaces") as typeof import("../linux/namespaces");
  return Object.entries(CLONE_FLAGS).filter(([, f]) => (flags & f) !== 0).map(([n]) => n);
}

/** "new namespaces: pid,mount,...; joined: network=/proc/1/ns/net; unshared: time" */
export function describeNamespaces(ns: NamespacePlan): string {
  const parts = [`new namespaces: ${nsNames(ns.cloneFlags).join(",") || "none"}`];
  if (ns.joins.length) parts.push(`joined: ${ns.joins.map((j) => `${j.type}=${j.path}`).join(",")}`);
  if (ns.unshareFlags) parts.push(`unshared: ${nsNames(ns.unshareFlags).join(",")}`);
  return parts.join("; ");
}

export function describeCgroups(paths: Record<string, string> | undefined): string {
  const dirs = [...new Set(Object.values(paths ?? {}))];
  return dirs.length ? dirs.join(", ") : "none (not writable or not configured)";
}

export function describeIdMaps(config: Config): string {
  const m = (maps: { containerID: number; hostID: number; size: number }[] = []) => maps.map((x) => `${x.containerID}:${x.hostID}:${x.size}`).join(",");
  return `uid_map ${m(config.linux.uidMappings)}, gid_map ${m(config.linux.gidMappings)}`;
}
