// Which linux.sysctl keys a container may set: only those of a kernel namespace the
// container owns. Anything else would be written to the host (runc refuses them too).
// Checked at create, before anything is made.
import type { Config, NamespaceType } from "../spec/schema";
import { BuncError, oneLine } from "../sys/errors";
import { PROC_NS_NAME } from "./namespaces";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

/** IPC namespace sysctls besides fs.mqueue.* (ipc/ipc_sysctl.c). */
const IPC_SYSCTLS = new Set([
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
  "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
]);

type Host = (type: NamespaceType, path: string) => boolean;

/** True when `path` is the namespace bunc itself is in (e.g. /proc/1/ns/net). */
export function isHostNamespace(type: NamespaceType, path: string): boolean {
  try {
    const own = nodeFs().statSync(`/proc/self/ns/${PROC_NS_NAME[type]}`), other = nodeFs().statSync(path);
    return own.ino === other.ino && own.dev === other.dev;
  } catch {
    return false; // unreadable: opening it to join reports the problem
  }
}

/** Throws for the first sysctl that would not land in a namespace of the container's own. */
export function validateSysctl(config: Config, isHost: Host = isHostNamespace): void {
  const owns = (type: NamespaceType) => {
    const ns = config.linux.namespaces.find((n) => n.type === type);
    return !!ns && !(ns.path && isHost(type, ns.path));
  };
  for (const [key, value] of Object.entries(config.linux.sysctl ?? {})) {
    const problem = sysctlProblem(key.replace(/\//g, "."), value, config, owns);
    if (problem) throw new BuncError(`linux.sysctl[${oneLine(JSON.stringify(key), 80)}]: ${problem}`);
  }
}

function sysctlProblem(name: string, value: string, config: Config, owns: (t: NamespaceType) => boolean): string | undefined {
  if (name === "kernel.hostname" || name === "kernel.domainname") {
    if (!owns("uts")) return "not allowed in the host's uts namespace";
    // As runc and crun: the hostname field is the one way to set the hostname.
    if (name === "kernel.hostname") return 'conflicts with the OCI "hostname" field, which is the way to set it';
    // kernel.domainname may repeat the domainname field (runc, crun), not contradict it
    // (crun; runc lets the sysctl win in silence).
    if (config.domainname !== undefined && value !== config.domainname)
      return `${oneLine(JSON.stringify(value), 80)} differs from the OCI "domainname" field (${oneLine(JSON.stringify(config.domainname), 80)})`;
    return undefined;
  }
  if (IPC_SYSCTLS.has(name) || name.startsWith("fs.mqueue.")) return owns("ipc") ? undefined : "not allowed in the host's ipc namespace";
  if (name.startsWith("net.")) return owns("network") ? undefined : "not allowed in the host's network namespace";
  return "not in a separate kernel namespace, not allowed";
}
