// Issue 21: the hosts users run. Builds (or reuses, cached in /var/cache/bunc-guests) a Debian 12
// and a Debian 13 guest, boots each under QEMU's TCG with dist/bunc, the Alpine tarball and
// scripts/guests/checks.sh on a 9p share, and turns the checks' TAP into one test per check.
// Root only (debootstrap, QEMU with a 9p share); a missing QEMU or a guest that fails to boot is a
// failure with the console's tail, never a skip.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type GuestRun, CHECKS, CHECKS_ONLY, checksOnly, parseTap, runGuest, runGuests, smpFor } from "../../scripts/guests/boot";
import { MACHINE } from "../../scripts/guests/machine";
import { SUITES, type Suite } from "../../scripts/guests/build";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log("guests.test.ts: skipped (not root: building and booting the Debian guests needs root)");

/** The checks' names, each a literal `check "name" fn` line in checks.sh. */
const NAMES = [...readFileSync(CHECKS, "utf8").matchAll(/^check "([^"]+)"/gm)].map((m) => m[1]!);
/** Per guest, boot to power-off (~10 min for Debian 12 with four guests on 2 cores); the host kills QEMU at this deadline. */
const GUEST_TIMEOUT_MS = Number(process.env.BUNC_GUEST_TIMEOUT_MS ?? 20 * 60_000);
/** Debian 12 and 13 at once, then the others (boot.ts, runGuests); one at a time with BUNC_GUEST_SERIAL=1. */
const SERIAL = process.env.BUNC_GUEST_SERIAL === "1";

const runs = new Map<Suite, Promise<GuestRun>>();
/** When the stage began, and when each guest was done: the budget is the stage's wall time. */
let stageStart = 0;
const doneAt = new Map<Suite, number>();
let chain: Promise<unknown> = Promise.resolve();
function guest(suite: Suite): Promise<GuestRun> {
  if (!runs.has(suite)) {
    stageStart = Date.now();
    if (SERIAL) {
      // one after the other, in SUITES order, whichever test asks first
      for (const s of SUITES) {
        const p = chain.then(() => runGuest(s, { timeoutMs: GUEST_TIMEOUT_MS }));
        chain = p.catch(() => {});
        runs.set(s, p);
      }
    } else for (const [s, p] of runGuests(SUITES, { timeoutMs: GUEST_TIMEOUT_MS })) runs.set(s, p);
    // a guest that fails before its tests await it is their failure, not an unhandled rejection
    for (const [s, p] of runs) p.then(() => doneAt.set(s, Date.now()), () => doneAt.set(s, Date.now()));
  }
  return runs.get(suite)!;
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}

function bootReport(r: GuestRun): string {
  return `${r.suite} (kernel ${r.kernel}, ${r.restored ? "restored from its saved state" : "booted"}): QEMU exit ${r.qemuExit}${r.timedOut ? ` (killed at the ${GUEST_TIMEOUT_MS / 1000} s deadline)` : ""} after ${r.seconds.toFixed(0)} s (CPU ${r.cpuSeconds?.toFixed(0) ?? "?"} s), checks exit ${r.checksExit ?? "none (never finished)"}`;
}

// A check no suite selects would pass unseen: each must be run by one guest at least.
test("every check of checks.sh is run by some guest", () => {
  const unrun = NAMES.filter((n) => SUITES.every((s) => CHECKS_ONLY[s] !== undefined && !new RegExp(CHECKS_ONLY[s]!).test(n)));
  expect(unrun).toEqual([]);
});

for (const suite of SUITES) {
  // a suite that runs a part of the checks (bullseye: lifecycle, exec, fast path) gets tests for that part
  const only = checksOnly(suite);
  const names = only ? NAMES.filter((n) => new RegExp(only).test(n)) : NAMES;
  describe.skipIf(!isRoot)(`guest ${suite}`, () => {
    test(`${suite}: boots under QEMU and runs the checks`, async () => {
      const r = await guest(suite);
      console.log(`guest ${bootReport(r)}; ${parseTap(r.tap).length} of ${names.length} checks reported; done ${(((doneAt.get(suite) ?? Date.now()) - stageStart) / 1000).toFixed(0)} s into the stage`);
      // the in-guest figures (bunc against the guest's runc): printed, never asserted
      if (r.bench) console.log(`${suite} guest figures:\n${r.bench}`);
      if (r.checksExit === undefined || r.timedOut)
        throw new Error(`guest ${bootReport(r)}\n--- console (tail) ---\n${tail(r.console, 120)}\n--- checks' log (tail) ---\n${tail(r.guestLog, 60)}`);
      expect(r.checksExit).toBe(0);
      // on the machine it was saved as, a guest restores the build's booted state instead of booting
      if (smpFor(suite) === MACHINE.smp) expect(r.restored).toBe(true);
    }, GUEST_TIMEOUT_MS * 2 + 20 * 60_000);

    for (const name of names) {
      test(`${suite}: ${name}`, async () => {
        const r = await guest(suite);
        const line = parseTap(r.tap).find((l) => l.name === name);
        if (!line)
          throw new Error(`the check did not report (${bootReport(r)})\n--- checks' log (tail) ---\n${tail(r.guestLog, 40)}\n--- console (tail) ---\n${tail(r.console, 40)}`);
        if (line.skip !== undefined) console.log(`${suite}: ${name}: skipped in the guest: ${line.skip}`);
        if (!line.ok) throw new Error(`${suite}: ${name} failed in the guest (kernel ${r.kernel}):\n${line.detail}`);
      }, GUEST_TIMEOUT_MS * 2 + 20 * 60_000);
    }
  });
}
