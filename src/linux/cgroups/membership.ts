// Which cgroup files a process writes to join a container's cgroups: the part of the
// manager that `exec` needs, without the limits, devices, stats and systemd code it
// would otherwise load (exec runs often; the manager's modules are ~40 KB of bytecode).
import { join } from "../../sys/paths";
import { pathExists, readText } from "../../sys/files";
import type { Hierarchy } from "./layout";
import { CgroupError } from "./files";

/** The container's directory in one hierarchy (what membership needs of the hierarchy: its version and controllers). */
export interface Member { h: Pick<Hierarchy, "version" | "controllers">; dir: string }

/** runc's `exec --cgroup`: a sub-cgroup of the container's, for all hierarchies ("") or per controller. */
export type SubCgroup = Record<string, string>;

/**
 * The members of a container from the paths saved at create (hierarchy key -> directory),
 * without reading mountinfo (~0.4 ms of an exec): v1 keys name every controller of their
 * hierarchy, so those sharing a directory are one hierarchy; cgroup2's controllers are the
 * ones its directory offers (cgroup.controllers), which are the only ones that can limit it.
 */
export function savedMembers(paths: Record<string, string>, controllersOf: (dir: string) => string[] = offeredControllers): Member[] {
  const byDir = new Map<string, Member>();
  for (const [key, dir] of Object.entries(paths)) {
    if (key === "") byDir.set(dir, { h: { version: 2, controllers: controllersOf(dir) }, dir });
    else {
      const m = byDir.get(dir);
      if (m) m.h.controllers.push(key);
      else byDir.set(dir, { h: { version: 1, controllers: [key] }, dir });
    }
  }
  return [...byDir.values()];
}

function offeredControllers(dir: string): string[] {
  try {
    return readText(`${dir}/cgroup.controllers`).trim().split(/\s+/).filter(Boolean);
  } catch {
    return []; // gone with the container: joining then fails and says so
  }
}

/** The member's directory, or its sub-cgroup when `sub` names one for it (which must exist). */
export function subDir({ h, dir }: Member, sub?: SubCgroup): string {
  const rel = sub && (h.controllers.map((c) => sub[c]).find((x) => x !== undefined) ?? sub[""]);
  if (!rel) return dir;
  const target = join(dir, rel);
  if (!pathExists(target)) throw new CgroupError(`--cgroup: ${target} does not exist`, "--cgroup");
  return target;
}

/** The controllers of the members' hierarchies (v1: those bound, "name=systemd" included; v2: cgroup.controllers). */
export function memberControllers(members: Member[]): string[] {
  return [...new Set(members.flatMap(({ h }) => h.controllers))];
}

/** The cgroup2 directory, when there is one and `only` selects it (for CLONE_INTO_CGROUP). */
export function cgroup2DirOf(members: Member[], only: (controllers: string[]) => boolean, sub?: SubCgroup): string | undefined {
  const m = members.find(({ h }) => h.version === 2 && only(h.controllers));
  return m && subDir(m, sub);
}

/**
 * Files through which a process joins the hierarchies `only` selects by writing "0".
 * On v1 that is `tasks`: moving the calling thread alone skips the kernel's
 * threadgroup barrier (an RCU grace period, ~10 ms), and the thread that will execve
 * is all that matters. On v2 it is cgroup.procs.
 */
export function joinFilesOf(members: Member[], only: (controllers: string[]) => boolean, versions: (1 | 2)[] = [1, 2], sub?: SubCgroup): string[] {
  const files = members.filter(({ h }) => only(h.controllers) && versions.includes(h.version)).map((m) => join(subDir(m, sub), m.h.version === 1 ? "tasks" : "cgroup.procs"));
  return [...new Set(files)];
}
