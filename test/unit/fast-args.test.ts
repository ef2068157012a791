// The simple parser of the lifecycle commands gives what citty gives, or declines.
import { describe, expect, test } from "bun:test";
import { parseArgs } from "citty";
import { parseSimpleArgs } from "../../src/cli/fast-args";
import { COMMANDS } from "../../src/cli/commands";

const plain = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

describe("parseSimpleArgs", () => {
  const lines = [
    ["c1"], ["c1", "KILL"], ["c1", "9", "--all"], ["-a", "c1", "TERM"], ["--force", "c1"], ["-f", "c1"], ["c1", "-f"],
    ["c1", "extra"], ["c1", "--all", "--all"],
  ];
  for (const name of ["state", "start", "delete", "kill", "pause", "resume"]) {
    test(`${name}: the same result as citty's parseArgs, or citty's turn`, async () => {
      const cmd: any = await COMMANDS[name]!.load();
      for (const raw of lines) {
        const mine = parseSimpleArgs(cmd.args, raw);
        let theirs: Record<string, unknown> | undefined;
        try {
          const p = parseArgs(raw, cmd.args) as Record<string, unknown>;
          theirs = {};
          for (const k of [...Object.keys(p), ...Object.keys(cmd.args)]) theirs[k] = p[k];
        } catch {
          theirs = undefined;
        }
        // A flag this command does not declare is checked before (checkFlags): the parser declines it.
        const declared = raw.every((a) => !a.startsWith("-") || Object.entries(cmd.args).some(([n, d]: [string, any]) => a === `--${n}` || [d.alias ?? []].flat().some((x: string) => a === `-${x}`)));
        if (!declared) {
          expect(mine).toBeUndefined();
          continue;
        }
        if (theirs === undefined) expect(mine).toBeUndefined();
        else expect(plain(mine!)).toEqual(plain(theirs));
      }
    });
  }

  test("declines what only citty parses: values, =, --, negations, missing required, string flags", () => {
    const args = { id: { type: "positional", required: true }, force: { type: "boolean", alias: "f" } } as const;
    for (const raw of [["--force=false", "c"], ["--", "c"], ["--no-force", "c"], [], ["-fx", "c"], ["-", "c"]]) expect(parseSimpleArgs(args as any, raw)).toBeUndefined();
    expect(parseSimpleArgs({ id: { type: "positional" }, format: { type: "string" } } as any, ["c"])).toBeUndefined();
    expect(parseSimpleArgs({ "pid-file": { type: "boolean" } } as any, [])).toBeUndefined();
  });
});
