// Which cgroup hierarchies the host has: pure v2, pure v1, or hybrid (v1 controllers
// plus a cgroup2 mount, usually /sys/fs/cgroup/unified), read from mountinfo.
import { parseMountInfo, readMountInfo } from "../mountinfo";
import { pathExists, readText } from "../../sys/files";

export interface Hierarchy {
  version: 1 | 2;
  mountPoint: string;
  /** The mount's root inside the hierarchy (field 4 of mountinfo); "/" on the host. */
  root: string;
  /** v1: the controllers bound to it (incl. "name=systemd"); v2: those in cgroup.controllers. */
  controllers: string[];
}

export interface CgroupLayout {
  mode: "v2" | "v1" | "hybrid";
  /** Every mounted hierarchy, each once. */
  hierarchies: Hierarchy[];
  /** The cgroup2 mount, if any. */
  unified?: Hierarchy;
  /** Controller name -> the hierarchy that serves it (v1 wins: on hybrid hosts the kernel binds it there). */
  controllers: Record<string, Hierarchy>;
}

const V1_CONTROLLERS = new Set([
  "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio", "perf_event",
  "net_prio", "hugetlb", "pids", "rdma", "misc",
]);

function readControllers(mountPoint: string): string[] {
  const f = `${mountPoint}/cgroup.controllers`;
  return pathExists(f) ? readText(f).trim().split(/\s+/).filter(Boolean) : [];
}

export function detectLayout(
  mountinfo: string = readMountInfo(),
  controllersOf: (mountPoint: string) => string[] = readControllers,
): CgroupLayout {
  const hierarchies: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const { fstype, root, mountPoint, superOptions } of parseMountInfo(mountinfo)) {
    if (fstype === "cgroup2") {
      if (seen.has("cgroup2")) continue; // bind mounts of the same hierarchy
      seen.add("cgroup2");
      hierarchies.push({ version: 2, mountPoint, root, controllers: controllersOf(mountPoint) });
    } else if (fstype === "cgroup") {
      const ctrls = superOptions.split(",").filter((o) => V1_CONTROLLERS.has(o) || o.startsWith("name="));
      const key = ctrls.slice().sort().join(",");
      if (!ctrls.length || seen.has(key)) continue;
      seen.add(key);
      hierarchies.push({ version: 1, mountPoint, root, controllers: ctrls });
    }
  }
  const unified = hierarchies.find((h) => h.version === 2);
  const v1 = hierarchies.filter((h) => h.version === 1);
  const controllers: Record<string, Hierarchy> = {};
  for (const h of v1) for (const c of h.controllers) controllers[c] = h;
  if (unified) for (const c of unified.controllers) controllers[c] ??= unified;
  const mode = !v1.length ? "v2" : unified ? "hybrid" : "v1";
  if (!hierarchies.length) throw new Error("no cgroup hierarchy is mounted (see /proc/self/mountinfo)");
  return { mode, hierarchies, unified, controllers };
}

/**
 * The calling process's cgroup in each hierarchy, from /proc/self/cgroup: v1 lines are keyed
 * by each of their controllers, the v2 line ("0::/path") by "".
 */
export function parseProcCgroup(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "") out[""] = m[2]!;
    else for (const c of m[1]!.split(",")) out[c] = m[2]!;
  }
  return out;
}

/** Key of a hierarchy in /proc/<pid>/cgroup: "" for v2, else its first controller. */
export function procKey(h: Hierarchy): string {
  return h.version === 2 ? "" : h.controllers[0]!;
}
