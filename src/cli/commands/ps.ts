import { defineCommand } from "../fast-args";
import { out } from "../output";
import { cli } from "../context";
import { containerPids, hostUsers, procInfo, type ProcInfo } from "../../runtime/ps";
import { BuncError } from "../../sys/errors";
import { psColumns, psTable } from "../ps-format";

export function splitPsArgv(raw: string[]): { own: string[]; id?: string; command: string[] } {
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === "--format" || (a === "-f" && i === 0 && raw[1] && ["json", "table"].includes(raw[1]))) { i++; continue; }
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
    const pids = containerPids(cli.runtime, args.id);
    if (args.format === "json") return void out(JSON.stringify(pids) + "\n");
    const users = hostUsers();
    out(psTable(pids.map((p) => procInfo(p, users)).filter((p): p is ProcInfo => !!p), cols));
  },
});
