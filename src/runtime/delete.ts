// `delete`: kills what is left of the container (with --force, or when it never
// started), runs the poststop hooks and removes its cgroups and state directory.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sendSignal } from "../sys/proc";
import { BuncError } from "../sys/errors";
import { runHooksWarn } from "./hooks";
import { isAlive, loadContainer, lockContainer, STATE_FILE, type Container } from "./state";
import { requireStatus } from "./status";
import { containerCgroups } from "./cgroups";
import { moveBack } from "../linux/net-devices";
import { describeCgroups, tracer } from "./trace";
import type { RuntimeContext } from "./context";
import { waitGone } from "./wait";
import { sharesHostMounts, unmountBelow } from "../linux/rootfs";
import { linuxSyscalls } from "../sys/syscalls";

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
      if (c.state.netDevices && isAlive(c.pid, c.state.pidStartTime)) moveBack(c.pid, c.state.netDevices, warn);
      const cg = containerCgroups(c.state, warn);
      if (cg) cg.killAll(9);
      if (isAlive(c.pid, c.state.pidStartTime)) sendSignal(c.pid, 9); // a created init is not yet in every hierarchy
      if (status === "paused") cg?.thaw();
      if (!waitGone(c)) throw new BuncError(`container ${id}: init ${c.pid} did not exit after SIGKILL`);
      trace("processes killed (SIGKILL) and gone");
    }
    if (sharesHostMounts(c.state.config)) {
      unmountBelow(linuxSyscalls, c.state.rootfs);
      trace(`mounts below ${c.state.rootfs} removed (no mount namespace of its own)`);
    }
    // A create that never finished ran no container: no poststop hooks for it.
    if (!halfMade) runHooksWarn("poststop", c.state.config.hooks?.poststop, c.hookState("stopped"), warn, { cwd: c.state.bundle });
    trace(`${c.state.config.hooks?.poststop?.length ?? 0} poststop hooks run`);
    try {
      containerCgroups(c.state, warn)?.destroy();
      trace(`cgroups removed: ${describeCgroups(c.state.cgroupPaths)}`);
    } catch (e: any) {
      warn(e.message);
    }
    c.remove();
    trace(`state directory ${c.dir} removed`);
  } finally {
    unlock();
  }
}

/**
 * Removes a state directory holding no state.json: a create killed before its first
 * write, which is made before anything else (at most its temporary file is there).
 */
function removeEmptyClaim(root: string, id: string): boolean {
  const dir = join(root, id);
  try {
    if (existsSync(join(dir, STATE_FILE)) || readdirSync(dir).some((f) => f !== `.${STATE_FILE}.tmp`)) return false;
    rmSync(dir, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}
