// Idmapped bind mounts (runtime spec 1.3: mount options "idmap"/"ridmap", per-mount
// uidMappings/gidMappings). bunc makes each one on the host — an idmapped mount needs
// CAP_SYS_ADMIN where the filesystem was mounted, which the container's init (in its own
// user namespace) lacks — as a detached tree (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)),
// and the init moves it into place with move_mount.
import { isAbsolute, join } from "../sys/paths";
import type { Config, Mount } from "../spec/schema";
import { spawnInit } from "../sys/nsexec";
import { socketPair } from "../sys/socket";
import { waitpid } from "../sys/proc";
import { mountSetattr, openTree } from "../sys/mount-api";
import { linuxSyscalls, type Syscalls } from "../sys/syscalls";
import { idMapText } from "./namespaces";
import { closeFd, openPath } from "../sys/files";
import { O } from "../sys/arch";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const MOUNT_ATTR_IDMAP = 0x100000n;

/**
 * "idmap"/"ridmap", or mappings of its own: the spec asks a config to name the option (a SHOULD
 * on the config, not a condition of validity), and runc and crun read mappings without it as
 * "idmap", applied to the top mount only.
 */
export const isIdmapped = (m: Mount) => !!(m.options?.some((o) => o === "idmap" || o === "ridmap") || m.uidMappings?.length || m.gidMappings?.length);
const isBind = (m: Mount) => m.type === "bind" || !!m.options?.some((o) => o === "bind" || o === "rbind");

/**
 * Bind mounts whose source bunc opens on the host and hands to the init: idmapped ones, and
 * every bind of a container with a user namespace of its own (its root may not reach a
 * root-only source; runc opens them on the host too).
 */
export function preparedOnHost(c: Config, m: Mount, hostCanClone: boolean): boolean {
  // Cloning a mount tree takes CAP_SYS_ADMIN on the host: rootless binds (or bunc inside an
  // unprivileged container) stay the init's.
  return isIdmapped(m) || (hostCanClone && isBind(m) && c.linux.namespaces.some((n) => n.type === "user" && !n.path));
}

/** Whether this process may clone mount trees (open_tree(OPEN_TREE_CLONE) of "/"). */
export function canCloneMounts(): boolean {
  try {
    closeFd(openTree("/"));
    return true;
  } catch {
    return false;
  }
}

/** Spec rules, at create: idmap is for bind mounts, and needs mappings (its own or the container's user namespace). */
export function checkIdmappedMounts(c: Config): void {
  const ownUserNs = c.linux.namespaces.some((n) => n.type === "user");
  c.mounts.forEach((m, i) => {
    const at = `mounts[${i}] (${m.destination})`;
    const mapped = !!(m.uidMappings?.length || m.gidMappings?.length);
    if (!isIdmapped(m)) return;
    if (!isBind(m)) throw new Error(`${at}: idmap is only supported for bind mounts here`);
    if (!mapped && !ownUserNs) throw new Error(`${at}: idmap needs uidMappings and gidMappings, or a user namespace of the container's`);
    if (mapped && !(m.uidMappings?.length && m.gidMappings?.length)) throw new Error(`${at}: idmap needs both uidMappings and gidMappings`);
  });
}

/** A user namespace with these mappings, as an fd: a native stage is cloned into it, mapped, and let go. */
function userNamespaceWith(uid: Mount["uidMappings"], gid: Mount["gidMappings"]): number {
  const sock = socketPair();
  try {
    const spawned = spawnInit({
      cloneFlags: 0x10000000 /* CLONE_NEWUSER */, unshareFlags: 0, joins: [], syncFd: sock[1]!, syncTarget: 3, setRoot: false,
      execFd: -1, passFds: [], argv: ["/nonexistent"], env: [],
    });
    try {
      nodeFs().writeFileSync(`/proc/${spawned.pid}/uid_map`, idMapText(uid as any));
      nodeFs().writeFileSync(`/proc/${spawned.pid}/setgroups`, "deny");
      nodeFs().writeFileSync(`/proc/${spawned.pid}/gid_map`, idMapText(gid as any));
      return openPath(`/proc/${spawned.pid}/ns/user`, O.RDONLY);
    } finally {
      spawned.abort();
      try {
        waitpid(spawned.pid);
      } catch {} // reaped already: nothing to wait for
    }
  } finally {
    closeFd(sock[0]!);
    closeFd(sock[1]!);
  }
}

/** The detached clone of the source of every mount preparedOnHost (idmapped where asked), by mount index (close them after). */
export function idmappedTrees(c: Config, bundle: string, initPid: number, hostCanClone: boolean): Map<number, number> {
  const trees = new Map<number, number>();
  try {
    c.mounts.forEach((m, i) => {
      if (!preparedOnHost(c, m, hostCanClone)) return;
      const recursive = !!m.options?.some((o) => o === "ridmap" || o === "rbind");
      const source = isAbsolute(m.source ?? "") ? m.source! : join(bundle, m.source ?? "");
      if (!isIdmapped(m)) {
        trees.set(i, openTree(source, { recursive, context: `mounts[${i}] (${m.destination}) ${source}` }));
        return;
      }
      const userns = m.uidMappings?.length ? userNamespaceWith(m.uidMappings, m.gidMappings) : openPath(`/proc/${initPid}/ns/user`, O.RDONLY);
      try {
        const tree = openTree(source, { recursive, context: `mounts[${i}] ${source}` });
        trees.set(i, tree);
        mountSetattr(tree, "", { set: MOUNT_ATTR_IDMAP, usernsFd: userns }, { recursive: !!m.options?.includes("ridmap"), context: `mounts[${i}] ${source}` });
      } finally {
        closeFd(userns);
      }
    });
  } catch (e) {
    for (const fd of trees.values()) closeFd(fd);
    throw e;
  }
  return trees;
}

/** In the init: the prepared tree moved onto `target` (a /proc/self/fd path of the pinned mount point). */
export function moveTree(tree: number, target: string, sys: Syscalls = linuxSyscalls): void {
  // The pinned mount point's fd itself (T_EMPTY_PATH), not its /proc/self/fd path.
  const pinned = target.match(/^\/proc\/self\/fd\/(\d+)$/);
  sys.moveMount(tree, pinned ? Number(pinned[1]) : -1, target);
}
