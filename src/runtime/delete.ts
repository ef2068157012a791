// `delete`: kills what is left of the container (with --force, or when it never
// started), runs the poststop hooks and removes its cgroups and state directory.
import { BuncError } from "../sys/errors";
import { tryRemove } from "../sys/files";
import { runHooksWarn } from "./hooks";
import { isAlive, loadContainer, lockContainer, ownPidNamespace, STATE_FILE, type Container, type StoredState } from "./state";
import { requireStatus } from "./status";
import { describeCgroups, tracer } from "./trace";
import type { RuntimeContext } from "./context";

const ENOENT = 2, EBUSY = 16, ENOTEMPTY = 39;

// Only what a delete of a stopped container needs is loaded at start-up (each bunc command
// is a fresh process): the cgroups library, signals, net devices and the mount code are
// loaded by the paths that use them.
const cgroupsLib = () => require("./cgroups") as typeof import("./cgroups");

export function deleteContainer(ctx: RuntimeContext, id: string, force = false): void {
  const { root, log: { warn } } = ctx;
  const trace = tracer(`delete ${id}`, ctx.log.debug);
  let c: Container;
  let unlock: () => void;
  try {
    unlock = lockContainer(root, id);
  } catch (e) {
    // containerd deletes twice; a forced delete of what is not there succeeds.
    if (force && e instanceof BuncError && /does not exist/.test(e.message)) return;
    throw e;
  }
  try {
    try {
      c = loadContainer(root, id);
    } catch (e) {
      if (!(e instanceof BuncError)) throw e;
      // A create killed before its first write made nothing but the directory.
      if (force && removeEmptyClaim(root, id)) return;
      if (force && /does not exist/.test(e.message)) return;
      throw e;
    }
    c.lockedByUs = true;
    const status = c.status();
    trace(`locked; status ${status}, init pid ${c.pid}`);
    if (!force) requireStatus(c, "delete", status);
    const halfMade = !!c.state.creating;
    if (status !== "stopped" || halfMade) {
      // Devices go back to the host while the container's network namespace still exists.
      if (c.state.netDevices && isAlive(c.pid, c.state.pidStartTime)) (require("../linux/net-devices") as typeof import("../linux/net-devices")).moveBack(c.pid, c.state.netDevices, warn);
      const cg = cgroupsLib().containerCgroups(c.state, warn);
      if (cg) cg.killAll(9);
      if (isAlive(c.pid, c.state.pidStartTime)) (require("../sys/proc") as typeof import("../sys/proc")).sendSignal(c.pid, 9); // a created init is not yet in every hierarchy
      if (status === "paused") cg?.thaw();
      if (!(require("./wait") as typeof import("./wait")).waitGone(c)) throw new BuncError(`container ${id}: init ${c.pid} did not exit after SIGKILL`);
      trace("processes killed (SIGKILL) and gone");
    } else if (!ownPidNamespace(c.state)) {
      // Without a PID namespace of its own, the init's end took no other process with it:
      // those left in its cgroup go now (as runc's destroy), or the cgroup could not go.
      const cg = cgroupsLib().containerCgroups(c.state, warn);
      if (cg) cg.killAll(9);
      trace("processes left in the cgroup killed (SIGKILL): no PID namespace of its own");
    }
    if (!c.state.config.linux.namespaces.some((n) => n.type === "mount")) {
      // No mount namespace of its own (linux/rootfs.ts sharesHostMounts): its mounts are the host's.
      const { unmountBelow } = require("../linux/rootfs") as typeof import("../linux/rootfs");
      unmountBelow((require("../sys/syscalls") as typeof import("../sys/syscalls")).linuxSyscalls, c.state.rootfs);
      trace(`mounts below ${c.state.rootfs} removed (no mount namespace of its own)`);
    }
    // A create that never finished ran no container: no poststop hooks for it.
    if (!halfMade) runHooksWarn("poststop", c.state.config.hooks?.poststop, c.hookState("stopped"), warn, { cwd: c.state.bundle });
    trace(`${c.state.config.hooks?.poststop?.length ?? 0} poststop hooks run`);
    try {
      removeCgroups(c.state, warn, ctx.log.debug);
      trace(() => `cgroups removed: ${describeCgroups(c.state.cgroupPaths)}`);
    } catch (e: any) {
      warn(e.message);
    }
    c.remove();
    trace(`state directory ${c.dir} removed`);
    if (removeOneShotScratch(root, c.state.bundle)) trace(`one-shot scratch bundle ${c.state.bundle} unmounted and removed`);
  } finally {
    unlock();
  }
}

/**
 * The scratch directory of a one-shot (`run --rootfs/--image`: <root>/.oneshot-*) holding the
 * bundle: its bunc removes it when the command ends, but a bunc that was killed left it, with
 * the run's overlay mounted. Deleting the container removes both. False when not a one-shot's.
 */
function removeOneShotScratch(stateRoot: string, bundle: string): boolean {
  // Not a one-shot's bundle: nothing to load node:fs and node:path for (~1.2 ms of start-up).
  if (!bundle.includes(".oneshot-")) return false;
  const { existsSync } = require("node:fs") as typeof import("node:fs");
  const { basename, dirname, join, resolve } = require("node:path") as typeof import("node:path");
  const root = resolve(stateRoot);
  let scratch = resolve(root, bundle);
  while (dirname(scratch) !== scratch && dirname(scratch) !== root) scratch = dirname(scratch);
  if (dirname(scratch) !== root || !basename(scratch).startsWith(".oneshot-") || !existsSync(scratch)) return false;
  const { linuxSyscalls } = require("../sys/syscalls") as typeof import("../sys/syscalls");
  try {
    linuxSyscalls.umount2(join(scratch, "view", "merged"), 2 /* MNT_DETACH */);
  } catch {} // not mounted: a copy, or already gone
  (require("../bundle/remove") as typeof import("../bundle/remove")).removeTree(scratch);
  return true;
}

/**
 * Removes a state directory holding no state.json: a create killed before its first
 * write, which is made before anything else (at most its temporary file is there).
 */
function removeEmptyClaim(root: string, id: string): boolean {
  const { existsSync, readdirSync, rmSync } = require("node:fs") as typeof import("node:fs");
  const { join } = require("node:path") as typeof import("node:path");
  const dir = join(root, id);
  try {
    if (existsSync(join(dir, STATE_FILE)) || readdirSync(dir).some((f) => f !== `.${STATE_FILE}.tmp`)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The container's cgroups removed. Its processes are gone by now, so each directory is
 * usually one empty leaf per hierarchy: rmdir it (and an empty default "/bunc" parent, as
 * CgroupManager.destroy does) without loading the cgroups library. Anything else (a
 * sub-cgroup, a process still leaving, the systemd driver) is the library's destroy.
 */
function removeCgroups(state: StoredState, warn: (m: string) => void, debug?: (m: string) => void): void {
  const paths = state.cgroupPaths;
  if (!paths || !Object.keys(paths).length) return;
  if (!state.systemdUnit) {
    const dirs = [...new Set(Object.values(paths))];
    try {
      // A leaf already gone, or a parent other containers still use, is normal: tryRemove
      // builds no error object for it (a short command's heap stays small).
      const busy = dirs.filter((dir) => [EBUSY, ENOTEMPTY].includes(tryRemove(dir, true, ENOENT, EBUSY, ENOTEMPTY)));
      if (!busy.length) {
        for (const dir of dirs) {
          const parent = dir.slice(0, dir.lastIndexOf("/")); // paths saved by create: absolute, no trailing "/"
          if (parent.endsWith("/bunc")) tryRemove(parent, true, ENOENT, EBUSY, ENOTEMPTY);
        }
        return;
      }
    } catch {
      // not ours to remove this way (EACCES, ...): the library says why
    }
    // busy or not empty: the library waits for it and removes sub-cgroups
  }
  cgroupsLib().containerCgroups(state, warn, debug)?.destroy();
}
