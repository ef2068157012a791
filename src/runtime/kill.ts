// `kill`: a signal to the container's init, or with --all to every process of its cgroup.
import { check, libc } from "../sys/libc";
import { ownPidNamespace, withContainer } from "./state";
import { requireStatus } from "./status";
import type { RuntimeContext } from "./context";

export function killContainer(ctx: RuntimeContext, id: string, signal: number, all = false): void {
  withContainer(ctx.root, id, (c) => {
    // As runc: SIGKILL to a container without a PID namespace of its own is SIGKILL to every
    // process of its cgroup (its init's end would take no other with it), init gone or not.
    if (signal === 9 && !ownPidNamespace(c.state)) all = true;
    const status = requireStatus(c, all ? "kill --all" : "kill");
    if (all) {
      // As runc: every process left in the container's cgroup, even once the init is gone.
      // The cgroups library is loaded only here: a plain kill is one system call.
      const cg = (require("./cgroups") as typeof import("./cgroups")).containerCgroups(c.state, ctx.log.warn);
      if (cg) return cg.killAll(signal);
      if (status === "stopped") return;
    }
    check("kill", libc.kill(c.pid, signal), String(c.pid)); // a SyscallError "kill <pid>: ESRCH" when it is gone
  });
}
