// `update`: new resource limits for a container, merged into its saved config and written
// to its cgroups.
import * as v from "valibot";
import { BuncError } from "../sys/errors";
import { withContainer } from "./state";
import { requireStatus } from "./status";
import { effectiveResources, requireCgroups } from "./cgroups";
import type { RuntimeContext } from "./context";
import { LinuxResourcesSchema, type LinuxResources } from "../linux/cgroups";
import { formatIssue } from "../spec/parse";

/** Merges runc-style update flags (or a resources.json) into the container's resources and applies them. */
export function updateContainer(ctx: RuntimeContext, id: string, patch: unknown): void {
  withContainer(ctx.root, id, (c) => {
    requireStatus(c, "update");
    const current = (c.state.config.linux.resources ?? {}) as Record<string, any>;
    const merged: Record<string, any> = { ...current };
    for (const [k, val] of Object.entries(patch as Record<string, any>)) {
      merged[k] = val && typeof val === "object" && !Array.isArray(val) ? { ...(current[k] ?? {}), ...val } : val;
    }
    // An unlimited memory limit lifts the stored memory+swap limit too (runc): a swap limit
    // below the memory limit is refused by the kernel.
    const p = patch as Record<string, any>;
    if (p.memory?.limit === -1 && p.memory.swap === undefined && merged.memory?.swap !== undefined) merged.memory = { ...merged.memory, swap: -1 };
    const r = v.safeParse(LinuxResourcesSchema, merged);
    if (!r.success) throw new BuncError(`invalid resources: ${formatIssue(r.issues[0])}`);
    const next = { ...c.state.config, linux: { ...c.state.config.linux, resources: r.output } };
    requireCgroups(c, ctx.log.warn, ctx.log.debug).apply(effectiveResources(next as any) as LinuxResources);
    c.state.config = next as any;
    c.save();
  });
}
