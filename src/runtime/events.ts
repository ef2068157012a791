// `events`: what runc's events stream reports, stats of the container's cgroups and OOM kills.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadContainer, withContainer } from "./state";
import { requireStatus } from "./status";
import { requireCgroups } from "./cgroups";
import type { RuntimeContext } from "./context";

export function statsEvent(ctx: RuntimeContext, id: string) {
  return withContainer(ctx.root, id, (c) => {
    requireStatus(c, "stats");
    return { type: "stats", id, data: requireCgroups(c, ctx.log.warn).stats() };
  });
}

/** How many processes of the container the kernel OOM-killed so far (runc's "oom" events). */
export function oomKills(root: string, id: string): number {
  const paths = loadContainer(root, id).state.cgroupPaths ?? {};
  const files = [paths.memory && join(paths.memory, "memory.oom_control"), paths[""] && join(paths[""], "memory.events")];
  for (const f of files) {
    if (!f) continue;
    try {
      return Number(readFileSync(f, "utf8").match(/^oom_kill (\d+)$/m)?.[1] ?? 0);
    } catch {}
  }
  return 0;
}
