// scripts/fetch-alpine.ts against a local mirror (no internet here).
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fetchAlpine } from "../../scripts/fetch-alpine";
import { alpineTarball } from "../../scripts/alpine-tarball";

let tmp: string;
let server: ReturnType<typeof Bun.serve> | undefined;
afterEach(() => {
  server?.stop(true);
  rmSync(tmp, { recursive: true, force: true });
});

/** A mirror serving the shared tarball under Alpine's layout, with a given .sha512 content. */
function mirror(sha512: string) {
  const tarball = alpineTarball(), name = basename(tarball);
  const requests: string[] = [];
  server = Bun.serve({
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      if (path === `/alpine/v3.20/releases/x86_64/${name}`) return new Response(Bun.file(tarball));
      if (path === `/alpine/v3.20/releases/x86_64/${name}.sha512`) return new Response(`${sha512}  ${name}\n`);
      return new Response("not found", { status: 404 });
    },
  });
  return { url: `http://localhost:${server.port}/alpine`, requests, tarball };
}

const realSha = () => new Bun.CryptoHasher("sha512").update(readFileSync(alpineTarball())).digest("hex");

test("downloads, verifies SHA-512 and caches; a second call uses the cache", async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-fetch-"));
  const m = mirror(realSha());
  const cacheDir = join(tmp, "cache");
  const path = await fetchAlpine({ version: "3.20.3", arch: "x86_64", mirror: m.url, cacheDir });
  expect(path).toBe(join(cacheDir, "alpine-minirootfs-3.20.3-x86_64.tar.gz"));
  expect(Buffer.compare(readFileSync(path), readFileSync(m.tarball))).toBe(0);
  expect(m.requests.length).toBe(2);
  await fetchAlpine({ version: "3.20.3", arch: "x86_64", mirror: m.url, cacheDir });
  expect(m.requests.length).toBe(2);
});

test("a wrong checksum fails and leaves nothing in the cache", async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-fetch-"));
  const m = mirror("0".repeat(128));
  const cacheDir = join(tmp, "cache");
  await expect(fetchAlpine({ version: "3.20.3", arch: "x86_64", mirror: m.url, cacheDir })).rejects.toThrow(/SHA-512 mismatch/);
  expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
});

test("a missing release is an HTTP error", async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-fetch-"));
  const m = mirror(realSha());
  await expect(fetchAlpine({ version: "9.9.9", arch: "x86_64", mirror: m.url, cacheDir: join(tmp, "c") })).rejects.toThrow(/HTTP 404/);
});

test("the CLI honours BUNC_ALPINE_MIRROR and prints the cached path", async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-fetch-"));
  const m = mirror(realSha());
  const p = Bun.spawn(["bun", join(import.meta.dir, "../../scripts/fetch-alpine.ts"), "3.20.3", "--arch", "x86_64", "--cache-dir", join(tmp, "c")], {
    env: { ...process.env, BUNC_ALPINE_MIRROR: m.url },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await p.exited).toBe(0);
  expect(await new Response(p.stderr).text()).toBe("");
  expect((await new Response(p.stdout).text()).trim()).toBe(join(tmp, "c", "alpine-minirootfs-3.20.3-x86_64.tar.gz"));
});
