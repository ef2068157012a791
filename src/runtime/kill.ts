// `kill`: a signal to the container's init, or with --all to every process of its cgroup.
import { linuxSyscalls } from "../sys/syscalls";
import { withContainer } from "./state";
import { requireStatus } from "./status";
import { containerCgroups } from "./cgroups";
import type { RuntimeContext } from "./context";

export function killContainer(ctx: RuntimeContext, id: string, signal: number, all = false): void {
  withContainer(ctx.root, id, (c) => {
    const status = requireStatus(c, all ? "kill --all" : "kill");
    if (all) {
      // As runc: every process left in the container's cgroup, even once the init is gone.
      const cg = containerCgroups(c.state, ctx.log.warn);
      if (cg) return cg.killAll(signal);
      if (status === "stopped") return;
    }
    linuxSyscalls.kill(c.pid, signal); // a SyscallError "kill <pid>: ESRCH" when it is gone
  });
}
