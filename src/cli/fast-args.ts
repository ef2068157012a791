// The lifecycle commands engines call most (state, start, kill, delete, pause, resume) take a
// container id, maybe a second positional and one-letter booleans. Loading citty and its parser
// costs ~1 ms of every such command (each is a fresh process), so a command line made only of
// positionals and declared boolean flags is parsed here, with citty's result; anything else
// (values, `=`, `--`, negations, a missing required argument: citty's error) goes to citty.
import type { ArgsDef, CommandDef } from "citty";

/** citty's defineCommand (an identity) without loading citty. */
export function defineCommand<T extends ArgsDef = ArgsDef>(def: CommandDef<T>): CommandDef<T> {
  return def;
}

/**
 * The parsed arguments as citty's runCommand would give them to `run`, or undefined when
 * the command or the command line is outside what this parser takes.
 */
export function parseSimpleArgs(args: ArgsDef, rawArgs: string[]): Record<string, unknown> | undefined {
  const booleans = new Map<string, string>();
  const positionals: [string, { required?: boolean; default?: unknown }][] = [];
  for (const [name, def] of Object.entries(args) as [string, any][]) {
    // Only names citty would not also spell another way (camelCase/kebab-case aliases).
    if (!/^[a-z]+$/.test(name)) return undefined;
    if (def.type === "positional") positionals.push([name, def]);
    else if (def.type === "boolean" && def.default === undefined) {
      booleans.set(name, name);
      for (const a of [def.alias ?? []].flat() as string[]) booleans.set(a, name);
    } else return undefined;
  }
  const out: Record<string, unknown> = { _: [] as string[] };
  const rest: string[] = [];
  for (const a of rawArgs) {
    if (!a.startsWith("-")) {
      rest.push(a);
      continue;
    }
    const name = a.startsWith("--") ? a.slice(2) : a.length === 2 ? a.slice(1) : undefined;
    const main = name === undefined ? undefined : booleans.get(name);
    if (main === undefined || (a.startsWith("--") ? name!.length < 2 : false)) return undefined;
    out[main] = true;
  }
  // citty mirrors each alias: `-f` is both args.f and args.force.
  for (const [alias, main] of booleans) if (out[main] !== undefined) out[alias] = out[main];
  for (const [name, def] of positionals) {
    const v = rest.shift();
    if (v !== undefined) out[name] = v;
    else if (def.default === undefined && def.required !== false) return undefined;
    else out[name] = def.default;
  }
  out._ = [...rawArgs.filter((a) => !a.startsWith("-"))];
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
