// bunc as a library (needs root): a Bun script creates, starts, waits for and deletes a
// container without the CLI.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isRoot, fileSandbox } from "../support/harness";
import { createContainer, deleteContainer, listContainers, loadContainer, runtimeContext, startContainer, waitForExit } from "../../src/index";

const sb = fileSandbox();

describe.skipIf(!isRoot)("library API (root)", () => {
  test("create, start, waitForExit and delete from a script", async () => {
    const b = await sb.bundle("lib", ["sh", "-c", "echo from-library > /out; exit 6"], () => {}, true);
    const ctx = runtimeContext(sb.root);
    const c = createContainer(ctx, { id: "lib", bundle: b });
    expect(c.status()).toBe("created");
    expect(listContainers(sb.root).map((x) => x.id)).toEqual(["lib"]);
    startContainer(ctx, "lib");
    expect(await waitForExit(ctx, "lib")).toBe(6);
    expect(loadContainer(sb.root, "lib").status()).toBe("stopped");
    expect(readFileSync(join(b, "rootfs/out"), "utf8")).toBe("from-library\n");
    deleteContainer(ctx, "lib");
    expect(existsSync(join(sb.root, "lib"))).toBe(false);
  });
});
