// dist/bunc's bytecode is laid out by the committed profile scripts/bunc.order (recorded by
// scripts/bytecode-order.ts, passed to `bun build --bytecode-order` by scripts/build.ts), so
// that what a command reads sits together at the front of the embedded payload. Functions are
// matched by a hash of their syntax: as the code changes, the profile names less of what the
// commands run, and what it does not name is laid out as without a profile. These tests fail
// once it names less than 90% of it: run `bun scripts/bytecode-order.ts` (root) again.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, PROJECT, fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const PROFILE = join(PROJECT, "scripts/bunc.order");
// Only a compiled binary records a profile (BUN_BYTECODE_ORDER_OUT); the sources run by bun do not.
const compiled = BUNC.length === 1;

/** The used-entry lines (functions decoded, strings read, modules evaluated) of a profile. */
function used(text: string): string[] {
  return text.split("\n").filter((l) => /^[FSM] [0-9a-f]{16}$/.test(l));
}

/** The share of what `args` read out of the bytecode that the committed profile names, by kind. */
function coverage(name: string, args: string[]): Record<string, number> {
  const out = join(sb.dir, `${name}.order`);
  sb.ok(args, { env: { BUN_BYTECODE_ORDER_OUT: out }, cwd: sb.dir });
  expect(existsSync(out)).toBe(true);
  const profile = new Set(used(readFileSync(PROFILE, "utf8")));
  const share: Record<string, number> = {};
  for (const kind of "FSM") {
    const now = used(readFileSync(out, "utf8")).filter((l) => l[0] === kind);
    expect(now.length).toBeGreaterThan(0);
    share[kind] = now.filter((l) => profile.has(l)).length / now.length;
  }
  return share;
}

describe.skipIf(!compiled)("the bytecode layout profile (scripts/bunc.order)", () => {
  test("is committed in the format this Bun records", () => {
    expect(readFileSync(PROFILE, "utf8").split("\n", 1)[0]).toBe("v2");
  });

  test("names what --version and spec read now", () => {
    for (const [name, args] of [["version", ["--version"]], ["spec", ["spec", "--bundle", sb.dir]]] as const) {
      for (const [kind, share] of Object.entries(coverage(name, [...args]))) expect({ name, kind, share: share >= 0.9 }).toEqual({ name, kind, share: true });
    }
  });

  test.skipIf(!isRoot)("names what run and a lifecycle (create, start, state, delete) read now (root)", async () => {
    const b = await sb.bundle("order", ["true"]);
    const shares: [string, Record<string, number>][] = [["run", coverage("run", ["run", "-b", b, "order-run"])]];
    shares.push(["create", coverage("create", ["create", "-b", b, "order"])]);
    shares.push(["start", coverage("start", ["start", "order"])]);
    shares.push(["state", coverage("state", ["state", "order"])]);
    shares.push(["delete", coverage("delete", ["delete", "--force", "order"])]);
    for (const [name, byKind] of shares) for (const [kind, share] of Object.entries(byKind)) expect({ name, kind, share: share >= 0.9 }).toEqual({ name, kind, share: true });
  });
});
