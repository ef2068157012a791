import { defineCommand } from "citty";
import { out } from "../../sys/output";
import { cli } from "../context";
import { containerPids, hostUsers, procInfo, type ProcInfo } from "../../runtime/control";
import { BuncError } from "../../runtime/errors";

/** ps(1) fields bunc can show, read from /proc. */
const FIELDS: Record<string, [string, (p: ProcInfo) => string | number]> = {
  pid: ["PID", (p) => p.pid], ppid: ["PPID", (p) => p.ppid], uid: ["UID", (p) => p.uid], user: ["USER", (p) => p.user],
  comm: ["COMMAND", (p) => p.comm], args: ["COMMAND", (p) => p.cmd], cmd: ["CMD", (p) => p.cmd], command: ["COMMAND", (p) => p.cmd],
  stat: ["STAT", (p) => p.stat], state: ["S", (p) => p.stat], rss: ["RSS", (p) => p.rss], vsz: ["VSZ", (p) => p.vsz],
  nlwp: ["NLWP", (p) => p.nlwp], thcount: ["THCNT", (p) => p.nlwp],
};
const DEFAULT = ["user", "pid", "ppid", "stat", "rss", "cmd"];
/** Selection flags are accepted and change nothing: the container's processes are listed. */
const SELECTIONS = new Set(["-e", "-A", "-f", "-ef", "-eF", "-aux", "aux", "-ax", "ax", "-l", "-el"]);

/** `ps <id> [ps args]`: runc passes these to ps(1); bunc understands the common ones. */
export function psColumns(psArgs: string[]): string[] {
  let cols = DEFAULT;
  for (let i = 0; i < psArgs.length; i++) {
    const a = psArgs[i]!;
    if (SELECTIONS.has(a)) continue;
    const list = a === "-o" || a === "o" ? psArgs[++i] : a.startsWith("-o") ? a.slice(2) : undefined;
    if (list === undefined) throw new BuncError(`ps: unsupported ps option "${a}" (bunc supports -e, -f, -A, aux and -o ${Object.keys(FIELDS).join(",")})`);
    cols = list.split(",").map((c) => c.replace(/=.*$/, "").trim().toLowerCase());
    for (const c of cols) if (!FIELDS[c]) throw new BuncError(`ps: unknown field "${c}" (bunc knows ${Object.keys(FIELDS).join(", ")})`);
  }
  return cols;
}

export function splitPsArgv(raw: string[]): { own: string[]; id?: string; command: string[] } {
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === "--format" || a === "-f") { i++; continue; }
    if (!a.startsWith("-")) return { own: raw.slice(0, i), id: a, command: raw.slice(i + 1).filter((x) => x !== "--") };
  }
  return { own: raw, command: [] };
}

export default defineCommand({
  meta: { name: "ps", description: "list the processes of a container: ps [--format table|json] <id> [ps args]", usage: "[--format table|json] <id> [ps args]", splitArgv: splitPsArgv } as any,
  args: {
    id: { type: "positional", description: "container id", required: true },
    format: { type: "string", alias: "f", description: "table or json", default: "table" },
  },
  run({ args, data }) {
    const psArgs = (data as ReturnType<typeof splitPsArgv>).command;
    if (args.format !== "json" && args.format !== "table") throw new BuncError(`invalid --format "${args.format}": use table or json`);
    const cols = psColumns(psArgs);
    const pids = containerPids(cli.globals.root, args.id);
    if (args.format === "json") return void out(JSON.stringify(pids) + "\n");
    const users = hostUsers();
    const rows = pids.map((p) => procInfo(p, users)).filter((p): p is ProcInfo => !!p).map((p) => cols.map((c) => String(FIELDS[c]![1](p))));
    const table = [cols.map((c) => FIELDS[c]![0]), ...rows];
    const width = cols.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    out(table.map((r) => r.map((v, i) => (i < r.length - 1 ? v.padEnd(width[i]!) : v)).join("  ")).join("\n") + "\n");
  },
});
