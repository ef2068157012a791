// The runtime-tools TAP reading and the judging of failures against explained entries.
import { describe, expect, test } from "bun:test";
import { failuresOf } from "../../scripts/conformance";
import { judge, type Explained } from "../../scripts/conformance-expected";
import { parseTap, summarize } from "../../scripts/conformance-tap";

const yaml = (o: object) => ["  ---", ...JSON.stringify(o, null, 2).split("\n").map((l) => "  " + l), "  ..."].join("\n");

describe("parseTap", () => {
  test("plans of several documents add up; a document with points and no plan leaves none", () => {
    expect(parseTap("TAP version 13\nok 1 - a\nok 2 - b\n1..2\nTAP version 13\n1..0\n").plan).toBe(2);
    expect(parseTap("TAP version 13\nok 1 - a\nnot ok 2 - b\n").plan).toBeUndefined();
    expect(parseTap("").plan).toBeUndefined();
  });

  test("a block with the container's stdout belongs to the next point, others to the previous", () => {
    const t = parseTap(["TAP version 13", "ok 1 - x", yaml({ actual: 1 }), yaml({ stdout: "TAP version 13\nnot ok 5 - mounts[0] (/proc) found\n" }), "not ok 2 - check", "1..2"].join("\n"));
    expect(t.points[0]!.diag.join("\n")).toContain('"actual"');
    expect(summarize(t.points[1]!.diag)).toEqual(["container: not ok 5 - mounts[0] (/proc) found", "container: TAP stops after point 5"]);
  });
});

describe("failuresOf", () => {
  test("no output and exit 0 is a pass (the *_fail programs); an error block without points is a failure", () => {
    expect(failuresOf("x", "", "failed to create the container\n", 0, false).failures).toEqual([]);
    const f = failuresOf("hooks", `TAP version 13\n${yaml({ error: "Hooks MUST be called in the listed order" })}\n1..0\n`, "", 0, false).failures;
    expect(f.map((x) => x.line)).toEqual(["1..0 with an error"]);
    expect(f[0]!.diag).toContain("listed order");
  });

  test("a hang, an exit status and a short TAP are failures", () => {
    const r = failuresOf("t", "TAP version 13\nok 1\n", "", null, true);
    expect(r.failures.map((x) => x.line)).toEqual(["hung: killed after 60 s", "no plan: the TAP stops early"]);
    expect(r.complete).toBe(false);
    expect(failuresOf("t", "TAP version 13\nok 1\n1..1\n", "boom\n", 1, false).failures.map((x) => x.line)).toEqual(["exit status 1"]);
  });
});

describe("judge", () => {
  const result = (test: string, lines: string[], complete = true) => ({ ...failuresOf(test, [...lines, ...(complete ? [`1..${lines.length}`] : [])].join("\n"), "", 0, false), ms: 0 });
  const entries: Explained[] = [
    { test: "a", assertions: [2], cause: "suite", reason: "r" },
    { test: "b", match: /kernel/, cause: "host", holds: () => true, reason: "r" },
    { test: "c", cause: "host", holds: () => false, reason: "not this host" },
  ];

  test("explained, unexplained and stale", () => {
    const v = judge([result("a", ["ok 1", "not ok 2 - x", "not ok 3 - y"]), result("b", ["ok 1"]), result("c", ["not ok 1 - z"])], entries);
    expect(v.explained.map((e) => e.failure.line)).toEqual(["not ok 2 - x"]);
    expect(v.unexplained.map((f) => `${f.test}: ${f.line}`)).toEqual(["a: not ok 3 - y", "c: not ok 1 - z"]);
    expect(v.stale.map((e) => e.test)).toEqual(["b"]);
  });

  test("an entry is not stale when another failure stopped its program early", () => {
    const v = judge([result("b", ["not ok 1 - other"], false)], entries);
    expect(v.stale).toEqual([]);
    expect(v.unexplained.length).toBe(2); // the point and the missing plan
  });
});
