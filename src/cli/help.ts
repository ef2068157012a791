// `bunc <cmd> --help` and `bunc help <cmd>`: plain text in runc's manner. A boolean that
// is on by default is shown only by its negation (--no-pivot), as runc lists it.
import type { CommandDef } from "citty";

interface ArgDef {
  type?: string;
  alias?: string | string[];
  description?: string;
  negativeDescription?: string;
  default?: unknown;
  required?: boolean;
  valueHint?: string;
}

/** The usage lines: meta.usage (after `bunc <name>`) when the command has forms citty cannot describe. */
function usageLines(name: string, meta: any, args: Record<string, ArgDef>): string[] {
  if (meta?.usage) return [meta.usage].flat().map((u: string) => `bunc ${name} ${u}`);
  const pos = Object.entries(args).filter(([, a]) => a.type === "positional").map(([n, a]) => (a.required === false ? `[${n}]` : `<${n}>`));
  return [`bunc ${name} [options] ${pos.join(" ")}`.trimEnd()];
}

function optionRows(args: Record<string, ArgDef>): [string, string][] {
  const rows: [string, string][] = [];
  for (const [name, a] of Object.entries(args)) {
    if (a.type === "positional") continue;
    const short = [a.alias ?? []].flat().map((s) => (s.length === 1 ? `-${s}` : `--${s}`));
    if (a.type === "boolean" && a.default === true) {
      rows.push([`--no-${name}`, a.negativeDescription ?? `do not ${a.description ?? name}`]);
      continue;
    }
    const value = a.type === "string" ? ` ${a.valueHint ?? "value"}` : "";
    const dflt = a.type === "string" && a.default !== undefined && a.default !== "" ? ` (default: ${a.default})` : "";
    rows.push([[...short, `--${name}`].join(", ") + value, (a.description ?? "") + dflt]);
  }
  return rows;
}

export async function renderHelp(name: string, cmd: CommandDef<any>): Promise<string> {
  const meta: any = (typeof cmd.meta === "function" ? await (cmd.meta as any)() : cmd.meta) ?? {};
  const args: Record<string, ArgDef> = (typeof cmd.args === "function" ? await (cmd.args as any)() : cmd.args) ?? {};
  const usage = usageLines(name, meta, args);
  const out = [`bunc ${name}: ${meta.description ?? ""}`, "", `Usage: ${usage[0]}`, ...usage.slice(1).map((u) => `       ${u}`)];
  const pos = Object.entries(args).filter(([, a]) => a.type === "positional");
  if (pos.length) {
    out.push("", "Arguments:");
    const w = Math.max(...pos.map(([n]) => n.length));
    for (const [n, a] of pos) out.push(`  ${n.padEnd(w)}  ${a.description ?? ""}`);
  }
  const rows = optionRows(args);
  if (rows.length) {
    out.push("", "Options:");
    const w = Math.max(...rows.map(([l]) => l.length));
    for (const [l, d] of rows) out.push(`  ${l.padEnd(w)}  ${d}`);
  }
  out.push("", "Global flags (before the command): --root DIR, --log FILE, --log-format text|json, --debug", "");
  return out.join("\n");
}
