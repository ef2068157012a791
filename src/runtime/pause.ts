// `pause` and `resume`: the container's cgroups frozen (the freezer of v1, cgroup.freeze of v2) and thawed.
import { withContainer } from "./state";
import { requireStatus } from "./status";
import { requireCgroups } from "./cgroups";
import type { RuntimeContext } from "./context";

export function pauseContainer(ctx: RuntimeContext, id: string): void {
  withContainer(ctx.root, id, (c) => {
    requireStatus(c, "pause");
    requireCgroups(c, ctx.log.warn).freeze();
  });
}

export function resumeContainer(ctx: RuntimeContext, id: string): void {
  withContainer(ctx.root, id, (c) => {
    requireStatus(c, "resume");
    requireCgroups(c, ctx.log.warn).thaw();
  });
}
