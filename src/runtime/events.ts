// `events`: what runc's events stream reports, stats of the container's cgroups and OOM kills.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadContainer, withContainer } from "./state";
import { requireStatus } from "./status";
import { requireCgroups } from "./cgroups";

export function statsEvent(root: string, id: string) {
  return withContainer(root, id, (c) => {
    requireStatus(c, "stats");
    return { type: "stats", id, data: requireCgroups(c).stats() };
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
