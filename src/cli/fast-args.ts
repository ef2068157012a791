// The command lines engines send (`create --bundle B --pid-file P id`, `state id`, `kill id 9`)
// are positionals and declared flags, each once. Loading citty and node:util's parseArgs costs
// ~1 ms of every such command (each is a fresh process), so those lines are parsed here, with
// citty's result; anything else (`=`, `--`, grouped letters, a repeated flag, a value starting
// with "-", a missing required argument: citty's error) goes to citty.
import type { ArgsDef, CommandDef } from "citty";

/** citty's defineCommand (an identity) without loading citty. */
export function defineCommand<T extends ArgsDef = ArgsDef>(def: CommandDef<T>): CommandDef<T> {
  return def;
}

/** citty's camelCase of a declared kebab-case name: "pid-file" -> "pidFile". */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The parsed arguments as citty's runCommand would give them to `run`, or undefined when
 * the command or the command line is outside what this parser takes: each declared flag at
 * most once, as `--name`, `-x`, `--name value` or `-x value` (a value not starting with "-"),
 * `--no-name` for a boolean; every spelling citty fills (name, aliases, camelCase) is filled.
 */
export function parseSimpleArgs(args: ArgsDef, rawArgs: string[]): Record<string, unknown> | undefined {
  const flags = new Map<string, { name: string; type: "boolean" | "string" }>();
  const spellings = new Map<string, string[]>();
  const positionals: [string, { required?: boolean; default?: unknown }][] = [];
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(args) as [string, any][]) {
    if (!/^[a-z]+(-[a-z]+)*$/.test(name)) return undefined;
    if (def.type === "positional") {
      positionals.push([name, def]);
      continue;
    }
    if (def.type !== "boolean" && def.type !== "string") return undefined;
    const aliases = [def.alias ?? []].flat() as string[];
    if (aliases.some((a) => !/^([a-zA-Z]|[a-z]+)$/.test(a))) return undefined;
    for (const a of [name, ...aliases]) flags.set(a, { name, type: def.type });
    spellings.set(name, [...new Set([name, ...aliases, camel(name)])]);
    if (def.default !== undefined) out[name] = def.default;
  }
  const given = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (!a.startsWith("-")) {
      rest.push(a);
      continue;
    }
    const negated = a.startsWith("--no-");
    const spelled = negated ? a.slice(5) : a.startsWith("--") ? a.slice(2) : a.length === 2 ? a.slice(1) : undefined;
    if (spelled === undefined || (a.startsWith("--") && spelled.length < 2)) return undefined;
    const flag = flags.get(spelled);
    if (!flag || given.has(flag.name) || (negated && flag.type !== "boolean")) return undefined;
    given.add(flag.name);
    if (flag.type === "boolean") out[flag.name] = !negated;
    else {
      const v = rawArgs[i + 1];
      if (v === undefined || v.startsWith("-")) return undefined;
      out[flag.name] = v;
      i++;
    }
  }
  for (const [name, keys] of spellings) {
    if ((args as any)[name].required && out[name] === undefined) return undefined;
    for (const k of keys) out[k] = out[name];
  }
  out._ = [...rest];
  for (const [name, def] of positionals) {
    const v = rest.shift();
    if (v !== undefined) out[name] = v;
    else if (def.default === undefined && def.required !== false) return undefined;
    else out[name] = def.default;
  }
  return out;
}

/**
 * Runs the command with the simple parse when it applies; false when citty must run it.
 * Only plain commands: no setup, cleanup, plugins or subcommands.
 */
export async function runSimple(cmd: CommandDef<any>, rawArgs: string[], data: unknown): Promise<boolean> {
  const c = cmd as any;
  if (typeof c.run !== "function" || c.setup || c.cleanup || c.plugins || c.subCommands || typeof c.args === "function") return false;
  const args = parseSimpleArgs(c.args ?? {}, rawArgs);
  if (!args) return false;
  await c.run({ rawArgs, args, data, cmd });
  return true;
}
