// Namespaces of config.json: which are created fresh (clone flags), which are joined by
// path (setns, user first), and the checks that the joined file has the right type.
import { namespaceType } from "../sys/nsfs";
import type { Config, NamespaceType } from "../spec/schema";
import { BuncError } from "../sys/errors";
import { closeFd, openPath, readText } from "../sys/files";
import { O } from "../sys/arch";
import { SyscallError } from "../sys/libc";
import { linuxSyscalls, type Syscalls } from "../sys/syscalls";

export const CLONE_FLAGS: Record<NamespaceType, number> = {
  mount: 0x00020000, uts: 0x04000000, ipc: 0x08000000, user: 0x10000000,
  pid: 0x20000000, network: 0x40000000, cgroup: 0x02000000, time: 0x00000080,
};
/** The name of each namespace under /proc/<pid>/ns. */
export const PROC_NS_NAME: Record<NamespaceType, string> = {
  mount: "mnt", uts: "uts", ipc: "ipc", user: "user", pid: "pid", network: "net", cgroup: "cgroup", time: "time",
};

export interface NamespacePlan {
  cloneFlags: number;
  unshareFlags: number;
  joins: { type: NamespaceType; path: string; nstype: number }[];
  newUser: boolean;
  newPid: boolean;
  has: (t: NamespaceType) => boolean;
}

export function planNamespaces(config: Config): NamespacePlan {
  let cloneFlags = 0, unshareFlags = 0;
  const joins: NamespacePlan["joins"] = [];
  for (const ns of config.linux.namespaces) {
    const flag = CLONE_FLAGS[ns.type];
    if (ns.path) joins.push({ type: ns.type, path: ns.path, nstype: flag });
    else if (ns.type === "time") unshareFlags |= flag; // clone() has no room for CLONE_NEWTIME
    else cloneFlags |= flag;
  }
  // The user namespace first: joining it grants the capabilities to join the others.
  joins.sort((a, b) => Number(b.type === "user") - Number(a.type === "user"));
  const types = new Set(config.linux.namespaces.map((n) => n.type));
  return {
    cloneFlags, unshareFlags, joins,
    newUser: (cloneFlags & CLONE_FLAGS.user) !== 0,
    newPid: (cloneFlags & CLONE_FLAGS.pid) !== 0,
    has: (t) => types.has(t),
  };
}

/** Opens every namespace to join and checks that its type is the one declared. */
export function openJoins(plan: NamespacePlan): { fd: number; nstype: number; path: string }[] {
  const opened: { fd: number; nstype: number; path: string }[] = [];
  try {
    for (const j of plan.joins) {
      let fd: number;
      try {
        fd = openPath(j.path, O.RDONLY);
      } catch (e: any) {
        throw new BuncError(`linux.namespaces: cannot open ${j.type} namespace ${j.path}: ${e.code ?? e.message}`);
      }
      opened.push({ fd, nstype: j.nstype, path: j.path });
      let actual: number | undefined;
      try {
        actual = namespaceType(fd, j.path);
      } catch {} // not a namespace file at all
      if (actual !== j.nstype)
        throw new BuncError(`linux.namespaces: ${j.path} is not a ${j.type} namespace`);
    }
    return opened;
  } catch (e) {
    for (const o of opened) closeFd(o.fd);
    throw e;
  }
}

/** A container id as the host sees it, through /proc/<pid>/uid_map or gid_map ("inside outside count" lines); undefined when unmapped. */
export function hostIdOf(pid: number, kind: "uid" | "gid", id: number): number | undefined {
  for (const line of readText(`/proc/${pid}/${kind}_map`).trim().split("\n")) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number) as [number, number, number];
    if (id >= inside && id < inside + count) return outside + (id - inside);
  }
  return undefined;
}

export function idMapText(maps: { containerID: number; hostID: number; size: number }[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

export function timeOffsetsText(offsets: Config["linux"]["timeOffsets"]): string | undefined {
  if (!offsets) return undefined;
  return Object.entries(offsets).map(([clock, o]) => `${clock} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}\n`).join("");
}

/**
 * setns(CLONE_NEWNS) wants a thread whose root and cwd are its own (unshare(CLONE_FS)); a
 * thread Bun starts from this one (a GC, JIT or pool thread, at any time) shares them again,
 * so the unshare is renewed right before, and once more if the kernel still saw them shared
 * (EINVAL). bunc's own thread (host-setup.ts) and the Bun init's exec both join this way.
 */
export function setnsMount(fd: number, sys: Syscalls = linuxSyscalls): void {
  for (let attempt = 0; ; attempt++) {
    sys.unshare(0x200 /* CLONE_FS */);
    try {
      return sys.setns(fd, 0x00020000 /* CLONE_NEWNS */);
    } catch (e) {
      if (!(e instanceof SyscallError) || e.errno !== 22 /* EINVAL */ || attempt >= 3) throw e;
    }
  }
}
