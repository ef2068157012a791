// Extraction as an unprivileged user: no chown, devices skipped with a warning, modes still applied.
import { afterEach, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar-stream";

const isRoot = process.geteuid?.() === 0;
const hasSetpriv = Bun.which("setpriv") !== null;
let tmp: string;
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

test.skipIf(!isRoot || !hasSetpriv)("as uid 65534: no owners, devices skipped with a warning, read-only dirs and setuid bits kept (root, to drop privileges)", async () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-rootless-"));
  chmodSync(tmp, 0o777);
  const p = tar.pack();
  p.entry({ name: "ro", type: "directory", mode: 0o555 });
  p.entry({ name: "ro/suid", mode: 0o4755, uid: 0, gid: 0 }, "x");
  p.entry({ name: "null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 });
  p.entry({ name: "fifo", type: "fifo", mode: 0o600 });
  p.finalize();
  const chunks: Uint8Array[] = [];
  for await (const c of p) chunks.push(c as Uint8Array);
  writeFileSync(join(tmp, "t.tar"), Buffer.concat(chunks));
  const out = join(tmp, "out");
  const script = `import { unpackRootfs } from "${join(import.meta.dir, "../../src/bundle")}";
    console.log(JSON.stringify((await unpackRootfs("${join(tmp, "t.tar")}", "${out}")).warnings));`;
  const proc = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bun", "-e", script]);
  expect(proc.stderr.toString()).toBe("");
  expect(JSON.parse(proc.stdout.toString())).toEqual(["skipped device nodes (not root), e.g. null"]);
  expect(readdirSync(out).sort()).toEqual(["fifo", "ro"]);
  const suid = lstatSync(join(out, "ro/suid"));
  expect([suid.uid, suid.mode & 0o7777]).toEqual([65534, 0o4755]);
  expect(lstatSync(join(out, "ro")).mode & 0o7777).toBe(0o555);
  expect(lstatSync(join(out, "fifo")).isFIFO()).toBe(true);
});

// A directory's attributes are set through an fd opened for reading; one its owner may not read
// gets them through its O_PATH fd's /proc entry instead.
test.skipIf(!isRoot || !hasSetpriv)("as uid 65534: a directory without read permission gets its mode and mtime (root, to drop privileges)", () => {
  tmp = mkdtempSync(join(tmpdir(), "bunc-rootless-"));
  chmodSync(tmp, 0o777);
  const script = `import { RootDir } from "${join(import.meta.dir, "../../src/sys/rootdir")}";
    import { mkdirSync } from "node:fs";
    mkdirSync("${tmp}/d", 0o311);
    const root = new RootDir("${tmp}");
    console.log(root.setAttrs(["d"], { mode: 0o750, mtime: { sec: 1000, nsec: 0 }, isDir: true }));
    root.close();`;
  const proc = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bun", "-e", script]);
  expect(proc.stderr.toString()).toBe("");
  expect(proc.stdout.toString().trim()).toBe("true");
  const st = lstatSync(join(tmp, "d"));
  expect([st.uid, st.mode & 0o7777, st.mtimeMs]).toEqual([65534, 0o750, 1_000_000]);
});
