// `kill`: a signal to the container's init, or with --all to every process of its cgroup.
import { check, libc } from "../sys/libc";
import { withContainer } from "./state";
import { requireStatus } from "./status";
import type { RuntimeContext } from "./context";

export function killContainer(ctx: RuntimeContext, id: string, signal: number, all = false): void {
  withContainer(ctx.root, id, (c) => {
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
