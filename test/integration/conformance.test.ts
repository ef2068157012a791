// The OCI runtime-tools validation suite (issue 20): its 58 programs against dist/bunc, once per
// rootfs setup path. Every failure must be explained in scripts/conformance-expected.ts (by the
// host or the suite) and every entry there must still fail. Root only; the suite is built once
// into fixtures/cache/ (Go and make come from .ci/run). A pass takes about a minute and a half.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildSuite, PASSES, report, runPass, unavailable } from "../../scripts/conformance";
import { PROJECT } from "../support/harness";

const BIN = process.env.BUNC_BIN ?? join(PROJECT, "dist/bunc");
const skipReason = unavailable() ?? (existsSync(BIN) ? undefined : `${BIN} is not built (bun scripts/build.ts)`);
if (skipReason) console.warn(`runtime-tools conformance skipped: ${skipReason}`);

describe.skipIf(!!skipReason)("OCI runtime-tools validation suite (root)", () => {
  let suite: string | undefined;
  for (const pass of Object.keys(PASSES)) {
    test(`${pass} setup path: every failure explained, no stale entry`, async () => {
      suite ??= buildSuite(console.warn);
      const { results, verdict, ms } = await runPass(suite, pass, { bunc: BIN });
      const clean = results.filter((r) => !r.failures.length).length;
      console.warn(`runtime-tools ${pass}: ${results.length} programs in ${(ms / 1000).toFixed(0)} s; ${clean} clean, ${verdict.explained.length} failures explained`);
      expect(results.length).toBe(58);
      const text = report(verdict);
      expect(verdict.unexplained.length + verdict.stale.length, `runtime-tools on the ${pass} path:\n${text}`).toBe(0);
    }, 20 * 60_000); // the build (first time) plus a pass, which stops itself after 12 minutes
  }
});
