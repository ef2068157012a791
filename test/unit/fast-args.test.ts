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
        const repeated = new Set(raw.filter((a) => a.startsWith("-"))).size < raw.filter((a) => a.startsWith("-")).length;
        if (theirs === undefined || repeated) expect(mine).toBeUndefined();
        else expect(plain(mine!)).toEqual(plain(theirs));
      }
    });
  }

  // What engines send (containerd's shim, podman/conmon, runc's own tests), and lines only citty takes.
  const valued = [
    ["--bundle", "/b", "--pid-file", "/p/pid", "c1"], ["-b", "/b", "c1"], ["c1", "--bundle", "/b"],
    ["--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s.sock", "c1"], ["--bundle", "/b", "--no-pivot", "c1"],
    ["--no-new-keyring", "--preserve-fds", "2", "-b", "/b", "c1"], ["--pivot", "c1"], ["--bundle", "/b", "--pid-file", "", "c1"],
    ["--bundle", "-b", "c1"], ["--bundle"], ["--bundle=/b", "c1"], ["-b", "/x", "-b", "/y", "c1"], ["--no-bundle", "c1"],
    ["--detach", "--bundle", "/b", "c1"], ["-d", "c1"], ["--keep", "--pid-file", "/p", "c1"], ["--cwd", "/w", "--tty", "c1"],
    ["--user", "1000:1000", "-e", "A=1", "c1"], ["-e", "A=1", "-e", "B=2", "c1"], ["--memory", "64m", "--pids-limit", "10", "c1"],
    ["--force", "c1"], ["c1", "-f"], ["c1", "extra", "more"], ["--name", "x", "--read-only", "--net", "host", "c1"],
  ];
  for (const name of ["create", "run", "exec", "update", "delete", "kill", "bundle", "ps", "list", "spec"]) {
    test(`${name} with values: the same as citty's parseArgs on every spelling, or citty's turn`, async () => {
      const cmd: any = await COMMANDS[name]!.load();
      const args = typeof cmd.args === "function" ? await cmd.args() : cmd.args;
      for (const raw of valued) {
        const mine = parseSimpleArgs(args, raw);
        let theirs: Record<string, unknown> | undefined;
        try {
          theirs = parseArgs(raw, args) as Record<string, unknown>;
        } catch {
          theirs = undefined;
        }
        const spelledOk = raw.every((a) => !a.startsWith("-") || Object.entries(args).some(([n, d]: [string, any]) => a === `--${n}` || a === `--no-${n}` || [d.alias ?? []].flat().some((x: string) => a === `-${x}` || a === `--${x}`)));
        if (!spelledOk || theirs === undefined) {
          expect(mine).toBeUndefined();
          continue;
        }
        if (mine === undefined) continue; // declining is always allowed: citty parses it
        for (const [k, v] of Object.entries(mine)) expect([raw, k, theirs[k]]).toEqual([raw, k, v]);
        for (const n of Object.keys(args)) expect([raw, n, mine[n]]).toEqual([raw, n, theirs[n]]);
      }
    });
  }

  test("takes the lines engines send without citty", async () => {
    const create: any = await COMMANDS.create!.load();
    const parsed = parseSimpleArgs(create.args, ["--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s", "--no-new-keyring", "c1"]);
    expect(parsed).toMatchObject({ id: "c1", bundle: "/b", b: "/b", "pid-file": "/p", pidFile: "/p", "console-socket": "/s", "new-keyring": false, newKeyring: false, pivot: true, "preserve-fds": "0" });
  });

  test("declines what only citty parses: =, --, grouped letters, repeats, values starting with -, missing required", () => {
    const args = { id: { type: "positional", required: true }, force: { type: "boolean", alias: "f" }, bundle: { type: "string", alias: "b" } } as const;
    for (const raw of [["--force=false", "c"], ["--", "c"], ["--no-bundle", "c"], [], ["-fx", "c"], ["-", "c"], ["-b", "-x", "c"], ["-b"], ["-f", "-f", "c"], ["--bundle=x", "c"]])
      expect(parseSimpleArgs(args as any, raw)).toBeUndefined();
    expect(parseSimpleArgs({ "pid_file": { type: "boolean" } } as any, [])).toBeUndefined();
    expect(parseSimpleArgs({ mode: { type: "enum", options: ["a"] } } as any, [])).toBeUndefined();
  });
});

test("no command module loads citty (and node:util) when it is loaded: defineCommand comes from fast-args", () => {
  const { readdirSync, readFileSync } = require("node:fs") as typeof import("node:fs");
  const dir = `${import.meta.dir}/../../src/cli/commands`;
  const loading = readdirSync(dir).filter((f) => /^import (?!type )[^;]*from "citty"/m.test(readFileSync(`${dir}/${f}`, "utf8")));
  expect(loading).toEqual([]);
});
