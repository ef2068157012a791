import { defineCommand } from "../fast-args";
import { readFileSync } from "node:fs";
import { cli } from "../context";
import { updateContainer } from "../../runtime/update";
import { BuncError } from "../../sys/errors";

/** runc accepts sizes like 512m or 1g. */
export function parseBytes(s: string, flag: string): number {
  if (s === "-1") return -1;
  const m = s.trim().toLowerCase().match(/^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/);
  if (!m) throw new BuncError(`invalid ${flag} "${s}"`);
  return Math.round(Number(m[1]) * 1024 ** "_kmgt".indexOf(m[2] || "_"));
}

const num = (s: string, flag: string) => {
  const n = Number(s);
  if (!Number.isInteger(n)) throw new BuncError(`invalid ${flag} "${s}"`);
  return n;
};

export default defineCommand({
  meta: { name: "update", description: "change the resource limits of a running container" },
  args: {
    id: { type: "positional", description: "container id", required: true },
    resources: { type: "string", alias: "r", description: "path to a resources.json (OCI linux.resources), - for stdin" },
    "blkio-weight": { type: "string", description: "block IO weight (10-1000)" },
    "cpu-period": { type: "string", description: "CPU CFS period (µs)" },
    "cpu-quota": { type: "string", description: "CPU CFS quota (µs)" },
    "cpu-burst": { type: "string", description: "CPU CFS burst (µs)" },
    "cpu-idle": { type: "string", description: "CPU idle policy: 1 for SCHED_IDLE, 0 for normal" },
    "cpu-share": { type: "string", description: "CPU shares" },
    "cpu-rt-period": { type: "string", description: "realtime period (µs)" },
    "cpu-rt-runtime": { type: "string", description: "realtime runtime (µs)" },
    "cpuset-cpus": { type: "string", description: "CPUs to use" },
    "cpuset-mems": { type: "string", description: "memory nodes to use" },
    memory: { type: "string", description: "memory limit (e.g. 512m)" },
    "memory-reservation": { type: "string", description: "memory soft limit" },
    "memory-swap": { type: "string", description: "memory + swap limit" },
    "pids-limit": { type: "string", description: "maximum number of tasks" },
  },
  run({ args: a }) {
    let patch: Record<string, any> = {};
    if (a.resources) {
      try {
        patch = JSON.parse(readFileSync(a.resources === "-" ? 0 : a.resources, "utf8"));
      } catch (e: any) {
        throw new BuncError(`--resources ${a.resources}: ${e.code ?? e.message}`);
      }
    }
    const set = (group: string, key: string, value: unknown) => ((patch[group] ??= {})[key] = value);
    if (a["blkio-weight"]) set("blockIO", "weight", num(a["blkio-weight"], "--blkio-weight"));
    if (a["cpu-period"]) set("cpu", "period", num(a["cpu-period"], "--cpu-period"));
    if (a["cpu-quota"]) set("cpu", "quota", num(a["cpu-quota"], "--cpu-quota"));
    // 0 is a value for these two (runc: set when given).
    if (a["cpu-burst"] !== undefined) set("cpu", "burst", num(a["cpu-burst"], "--cpu-burst"));
    if (a["cpu-idle"] !== undefined) set("cpu", "idle", num(a["cpu-idle"], "--cpu-idle"));
    if (a["cpu-share"]) set("cpu", "shares", num(a["cpu-share"], "--cpu-share"));
    if (a["cpu-rt-period"]) set("cpu", "realtimePeriod", num(a["cpu-rt-period"], "--cpu-rt-period"));
    if (a["cpu-rt-runtime"]) set("cpu", "realtimeRuntime", num(a["cpu-rt-runtime"], "--cpu-rt-runtime"));
    if (a["cpuset-cpus"]) set("cpu", "cpus", a["cpuset-cpus"]);
    if (a["cpuset-mems"]) set("cpu", "mems", a["cpuset-mems"]);
    if (a.memory) set("memory", "limit", parseBytes(a.memory, "--memory"));
    if (a["memory-reservation"]) set("memory", "reservation", parseBytes(a["memory-reservation"], "--memory-reservation"));
    if (a["memory-swap"]) set("memory", "swap", parseBytes(a["memory-swap"], "--memory-swap"));
    if (a["pids-limit"]) set("pids", "limit", num(a["pids-limit"], "--pids-limit"));
    if (!Object.keys(patch).length) throw new BuncError("update: nothing to change (see bunc update --help)");
    updateContainer(cli.runtime, a.id, patch);
  },
});
