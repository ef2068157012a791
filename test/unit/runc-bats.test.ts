// scripts/runc-bats.ts: bats's TAP lines as it reads them, and the expected failures' list.
import { describe, expect, test } from "bun:test";
import { parseLine } from "../../scripts/runc-bats";
import { EXPECTED } from "../../scripts/runc-bats/expected";

describe("runc-bats", () => {
  test("plans, results with their -T timing, skips and diagnostics", () => {
    expect(parseLine("1..18")).toEqual({ plan: 18 });
    expect(parseLine("ok 1 runc create in 440ms")).toEqual({ result: { n: 1, name: "runc create", ok: true, skip: undefined } });
    expect(parseLine("not ok 10 runc delete [host pidns + init gone] in 378ms")).toEqual({ result: { n: 10, name: "runc delete [host pidns + init gone]", ok: false, skip: undefined } });
    expect(parseLine("ok 15 runc delete removes failed systemd unit in 433ms # skip requires systemd >= v244")).toEqual({ result: { n: 15, name: "runc delete removes failed systemd unit", ok: true, skip: "requires systemd >= v244" } });
    expect(parseLine("ok 3 runc create [ --pidfd-socket ]  in 10ms")).toEqual({ result: { n: 3, name: "runc create [ --pidfd-socket ] ", ok: true, skip: undefined } });
    expect(parseLine("#   `[ \"$status\" -eq 0 ]' failed")).toEqual({ diag: "#   `[ \"$status\" -eq 0 ]' failed" });
    expect(parseLine("some stray output")).toBeUndefined();
  });
  test("every expected failure has its reason", () => {
    expect(Object.keys(EXPECTED).length).toBeGreaterThan(0);
    for (const [name, why] of Object.entries(EXPECTED)) {
      expect(name.trim().length).toBeGreaterThan(0);
      expect(why.length).toBeGreaterThan(20);
    }
  });
});
