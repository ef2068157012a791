// One-letter flags grouped as docker and getopt take them (-it), checked against the command's own.
import { describe, expect, test } from "bun:test";
import { checkFlags } from "../../src/cli/dispatch";

const args = { interactive: { type: "boolean", alias: "i" }, tty: { type: "boolean", alias: "t" }, workdir: { type: "string", alias: "w" } };

describe("checkFlags", () => {
  test("a group of known booleans passes; the last may take the next word", () => {
    expect(() => checkFlags(["-it", "id"], args)).not.toThrow();
    expect(() => checkFlags(["-itw", "/tmp", "id"], args)).not.toThrow();
  });
  test("an unknown letter, or a value flag inside the group, is an unknown flag", () => {
    expect(() => checkFlags(["-ix"], args)).toThrow("unknown flag -ix");
    expect(() => checkFlags(["-wi", "/tmp"], args)).toThrow("unknown flag -wi");
  });
});
