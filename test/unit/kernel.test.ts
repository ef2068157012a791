import { describe, expect, test } from "bun:test";
import { requireKernel } from "../../src/linux/kernel";

describe("kernel floor", () => {
  test("5.7 and later pass, distribution strings included", () => {
    for (const r of ["5.7.0", "5.10.0-28-amd64", "6.1.0-26-amd64", "6.12.12+bpo-amd64", "6.18.44-fc-v595", "10.0"]) expect(() => requireKernel(r)).not.toThrow();
  });
  test("older kernels fail with one line naming the floor and what needs it", () => {
    expect(() => requireKernel("5.4.0-150-generic")).toThrow("bunc needs Linux 5.7 or later, this is 5.4.0-150-generic: openat2 (5.6)");
    expect(() => requireKernel("4.19.0-27-amd64")).toThrow(/^bunc needs Linux 5\.7/);
  });
  test("this machine passes", () => expect(() => requireKernel()).not.toThrow());
});
