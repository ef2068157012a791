// A new user's first hour with the CLI: one-shot runs, help, bad-input messages, --debug.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot, type Result } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";

const sb = fileSandbox();
const uid = (p = "x") => p + Math.random().toString(36).slice(2, 8);

/** bunc in the background, so that several run at once. */
async function spawn(args: string[]): Promise<Result> {
  const p = Bun.spawn([...BUNC, "--root", sb.root, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BUNC_CACHE_DIR: join(sb.dir, "cache") } });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

describe.skipIf(!isRoot)("one-shot run --rootfs", () => {
  test("what follows -- is the command, never the id; two one-shots without an id run side by side", async () => {
    const [a, b] = await Promise.all([
      spawn(["run", "--rm", "--rootfs", alpineTarball(), "--", "/bin/echo", "hi"]),
      spawn(["run", "--rm", "--rootfs", alpineTarball(), "--", "sh", "-c", "echo from sh"]),
    ]);
    expect(a).toMatchObject({ code: 0, stdout: "hi\n" });
    expect(b).toMatchObject({ code: 0, stdout: "from sh\n" });
    expect(sb.containers()).toEqual([]);
  });

  test("an id before -- still names the container", () => {
    const id = uid();
    const r = sb.run(["--debug", "run", "--rm", "--rootfs", alpineTarball(), id, "--", "true"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`create ${id}: init spawned`);
    expect(sb.containers()).toEqual([]);
  });

  test("without --rootfs, `--` keeps runc's meaning: run -b B -- <id>; a command there is an error", async () => {
    const b = await sb.bundle("dash-b", ["echo", "from the bundle"]);
    expect(sb.run(["run", "-b", b, "--", uid()])).toMatchObject({ code: 0, stdout: "from the bundle\n" });
    const r = sb.run(["run", "-b", b, uid(), "--", "echo", "hi"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("needs --rootfs");
    expect(sb.containers()).toEqual([]);
  });

  test("run -t without --rootfs is an error, not ignored (runc's run has no -t)", async () => {
    const b = await sb.bundle("tty-b", ["true"]);
    const r = sb.run(["run", "-t", "-b", b, uid()]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("-t/--tty only applies with --rootfs");
    expect(sb.containers()).toEqual([]);
  });
});

describe("help", () => {
  test("bunc help <cmd> is that command's help, and the same as <cmd> --help", () => {
    const h = sb.ok(["help", "run"]);
    expect(h).toContain("Usage: bunc run [options] <id>");
    expect(h).toContain("bunc run --rootfs|--image <image[:tag]|tarball|dir> [-i] [-t] [-v SRC:DST[:ro]] [-e K=V] [options] [id] -- <cmd> [args...]");
    expect(sb.ok(["run", "--help"])).toBe(h);
  });

  test("negatable booleans are listed only as --no-X, as runc does", () => {
    const h = sb.ok(["create", "--help"]);
    expect(h).toContain("--no-pivot");
    expect(h).toContain("--no-new-keyring");
    expect(h).not.toMatch(/^\s+--pivot\b/m);
    expect(h).not.toContain("Default: true");
  });

  test("bundle --help shows the -- <cmd> form", () => {
    expect(sb.ok(["bundle", "--help"])).toContain("Usage: bunc bundle [options] <tarball> <dir> [-- <cmd> [args...]]");
  });

  test("bunc help nosuch is an error", () => {
    const r = sb.run(["help", "nosuch"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown command "nosuch"');
    expect(r.stdout).toBe("");
  });
});

describe("bad input says what and where", () => {
  test("bundle of a missing tarball: <path>: no such file, nothing created", () => {
    const tarball = join(sb.dir, "nonexistent.tgz"), dir = join(sb.dir, "nb");
    const r = sb.run(["bundle", tarball, dir]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(`bunc: ${tarball}: no such file`);
    expect(existsSync(dir)).toBe(false);
  });

  test.skipIf(!isRoot)("create where there is no config.json hints at -b/--bundle", () => {
    const r = sb.run(["create", uid()], { cwd: sb.dir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${sb.dir}/config.json not found`);
    expect(r.stderr).toContain("-b/--bundle");
    expect(sb.containers()).toEqual([]);
  });

  test.skipIf(!isRoot || BUNC.length !== 1)("a non-root user without XDG_RUNTIME_DIR is told to use --root or XDG_RUNTIME_DIR", () => {
    const env = { ...process.env };
    delete env.XDG_RUNTIME_DIR;
    delete env.BUNC_ROOT;
    const p = Bun.spawnSync(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", BUNC[0]!, "run", "--rootfs", "/", "--", "true"], { env, cwd: "/", stderr: "pipe" });
    expect(p.exitCode).not.toBe(0);
    const err = p.stderr.toString();
    expect(err).toContain("EACCES");
    expect(err).toContain("use --root DIR or set XDG_RUNTIME_DIR");
  });
});

describe.skipIf(!isRoot)("--debug", () => {
  test("traces cgroups, namespaces and the init pid to stderr, with timings", () => {
    const r = sb.run(["--debug", "run", "--rm", "--rootfs", alpineTarball(), "--", "true"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/debug: create bunc-[0-9a-f]+: cgroups made: \S+bunc-[0-9a-f]+/);
    expect(r.stderr).toMatch(/init spawned: pid \d+; new namespaces: [a-z,]*pid/);
    expect(r.stderr).toMatch(/mounted proc on \/proc/); // by the init, or by bunc itself (host setup)
    expect(r.stderr).toMatch(/init ready: .*\(\+\d+\.\d ms\)/);
    expect(r.stderr).toMatch(/start bunc-[0-9a-f]+: exec fifo read to EOF/);
    expect(r.stderr).toMatch(/delete bunc-[0-9a-f]+: cgroups removed/);
  });

  test("with --log and --log-format json the trace is JSON lines with level debug", () => {
    const log = join(sb.dir, `${uid("log")}.json`);
    const r = sb.run(["--debug", "--log", log, "--log-format", "json", "run", "--rm", "--rootfs", alpineTarball(), "--", "true"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.every((l) => l.level === "debug" && typeof l.msg === "string" && !Number.isNaN(Date.parse(l.time)))).toBe(true);
    const msgs = lines.map((l) => l.msg).join("\n");
    expect(msgs).toContain("cgroups made:");
    expect(msgs).toContain("new namespaces:");
    expect(msgs).toMatch(/init spawned: pid \d+/);
  });

  test("exec and delete are traced too", async () => {
    const id = uid();
    sb.ok(["run", "-d", "-b", await sb.bundle("dbg-exec", ["sleep", "30"]), id]);
    try {
      const e = sb.run(["--debug", "exec", id, "true"]);
      expect(e.code).toBe(0);
      expect(e.stderr).toMatch(new RegExp(`exec ${id}: process spawned: pid \\d+; joined namespaces`));
      expect(e.stderr).toContain(`exec ${id}: execve of true done`);
    } finally {
      const d = sb.run(["--debug", "delete", "--force", id]);
      expect(d.stderr).toContain(`delete ${id}: processes killed`);
      expect(d.stderr).toContain(`delete ${id}: state directory`);
    }
  });

  test("without --debug nothing is traced", () => {
    const r = sb.run(["run", "--rm", "--rootfs", alpineTarball(), "--", "true"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
  });
});
