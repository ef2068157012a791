// Device rules shared by both cgroup versions: v1 writes them to devices.allow/deny,
// v2 compiles them into an eBPF program (bpf.ts).
import type { DeviceRule } from "../../spec/resources";
import { CgroupError, writeCgroupFile } from "./files";

export const ACC = { m: 1, r: 2, w: 4 } as const; // BPF_DEVCG_ACC_*

export function accessMask(access: string | undefined): number {
  let m = 0;
  for (const ch of access || "rwm") m |= ACC[ch as keyof typeof ACC] ?? 0;
  return m;
}

function wild(n: number | null | undefined): string {
  return n == null || n < 0 ? "*" : String(n);
}

function checkType(rule: DeviceRule, i: number): "a" | "b" | "c" {
  const t = rule.type ?? "a";
  if (t !== "a" && t !== "b" && t !== "c")
    throw new CgroupError(`linux.resources.devices[${i}].type: "${t}" is not supported by the devices cgroup`, `linux.resources.devices[${i}]`);
  return t;
}

/** "c 1:3 rwm" as the v1 devices.allow/deny files take it. */
export function v1Rule(rule: DeviceRule, i = 0): string {
  const t = checkType(rule, i);
  if (t === "a") return "a *:* rwm";
  return `${t} ${wild(rule.major)}:${wild(rule.minor)} ${rule.access || "rwm"}`;
}

/** v1: deny everything first (as runc does), then replay the rules in order; later rules win. */
export function applyDevicesV1(dir: string, rules: DeviceRule[]): void {
  writeCgroupFile(dir, "devices.deny", "a", "linux.resources.devices");
  rules.forEach((r, i) => {
    writeCgroupFile(dir, r.allow ? "devices.allow" : "devices.deny", v1Rule(r, i), `linux.resources.devices[${i}]`);
  });
}

export { checkType };
