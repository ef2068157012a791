// scripts/bytecode-order.ts merges the profiles of several commands into scripts/bunc.order the
// way `bun build --bytecode-order=a,b,...` merges them (a build from the merged file was
// byte-identical to one from the files, when this was written).
import { describe, expect, test } from "bun:test";
import { mergeOrders } from "../../scripts/bytecode-order";

describe("mergeOrders", () => {
  test("per kind of line: the first profile's entries in its order, then what each next one adds", () => {
    const state = "v2\nF 00000000000000a1\nF 00000000000000a2\nM 00000000000000b1\nS 00000000000000c1\nK 00000000000000d1\n";
    const create = "v2\nF 00000000000000a3\nF 00000000000000a1\nM 00000000000000b2\nM 00000000000000b1\nS 00000000000000c2\nK 00000000000000d1\nN 00000000000000e1\n";
    expect(mergeOrders([state, create]).split("\n")).toEqual([
      "v2",
      "F 00000000000000a1", "F 00000000000000a2", "F 00000000000000a3",
      "M 00000000000000b1", "M 00000000000000b2",
      "S 00000000000000c1", "S 00000000000000c2",
      "K 00000000000000d1",
      "N 00000000000000e1",
      "",
    ]);
  });

  test("the most important profile's order wins where two order the same entries differently", () => {
    const a = "v2\nF 0000000000000002\nF 0000000000000001\n", b = "v2\nF 0000000000000001\nF 0000000000000002\n";
    expect(mergeOrders([a, b])).toBe(a);
    expect(mergeOrders([b, a])).toBe(b);
  });

  test("a profile of another format is refused, not merged as if it were v2", () => {
    expect(() => mergeOrders(["v1\nF 0000000000000001\n"])).toThrow(/profile 0 is "v1", not the v2 format/);
  });
});
