// bunc as a library (needs root): a Bun script creates, starts, waits for and deletes a
// container without the CLI.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isRoot, fileSandbox } from "../support/harness";
import { createContainer, deleteContainer, listContainers, loadContainer, startContainer, waitForExit } from "../../src/index";

const sb = fileSandbox();

describe.skipIf(!isRoot)("library API (root)", () => {
  test("create, start, waitForExit and delete from a script", async () => {
    const b = await sb.bundle("lib", ["sh", "-c", "echo from-library > /out; exit 6"], () => {}, true);
    const c = createContainer({ root: sb.root, id: "lib", bundle: b, warn: () => {} });
    expect(c.status()).toBe("created");
    expect(listContainers(sb.root).map((x) => x.id)).toEqual(["lib"]);
    startContainer(sb.root, "lib", () => {});
    expect(await waitForExit(sb.root, "lib")).toBe(6);
    expect(loadContainer(sb.root, "lib").status()).toBe("stopped");
    expect(readFileSync(join(b, "rootfs/out"), "utf8")).toBe("from-library\n");
    deleteContainer(sb.root, "lib", false, () => {});
    expect(existsSync(join(sb.root, "lib"))).toBe(false);
  });
});
