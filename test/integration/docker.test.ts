// dockerd (Debian's docker.io 20.10, started here with every root under a temporary
// directory) running bunc as a runtime of its own (`--add-runtime bunc=dist/bunc`,
// `docker run --runtime bunc`): dockerd's containerd calls bunc through the runc shim with
// `--root <exec root>/runtime-runc/moby --log <bundle>/log.json --log-format json`, and
// docker's own commands (exec, top, pause, update, stop, start) reach bunc's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Docker, engineSkipReason } from "../support/engines";

const skipReason = engineSkipReason(["docker.io"], ["dockerd", "docker", "containerd-shim-runc-v2"]);
if (skipReason) console.warn(`docker tests skipped: ${skipReason}`);

describe.skipIf(!!skipReason)("docker (dockerd --add-runtime) with bunc", () => {
  let d: Docker;
  let volume: string;
  const run = (flags: string[], cmd: string[], stdin?: string) =>
    d.docker(["run", "--runtime", "bunc", "--network", "none", ...flags, d.image, ...cmd], { stdin });
  const buncState = () => (existsSync(d.buncRoot) ? readdirSync(d.buncRoot) : []);
  const status = (name: string) => d.ok(["inspect", "-f", "{{.State.Status}}", name]).trim();

  beforeAll(async () => {
    d = new Docker();
    await d.start();
    d.importAlpine();
    volume = join(d.dir, "volume");
    mkdirSync(volume, { mode: 0o755 });
    chmodSync(volume, 0o755);
    writeFileSync(join(volume, "file"), "in the volume\n", { mode: 0o644 });
  }, 180_000);

  afterAll(async () => {
    await d?.stop();
  }, 120_000);

  test("run --rm: output, exit status, nothing left behind", () => {
    const r = run(["--rm"], ["sh", "-c", "echo hi; echo err >&2"]);
    expect(r.stdout).toBe("hi\n");
    expect(r.stderr).toBe("err\n");
    expect(r.code).toBe(0);
    expect(run(["--rm"], ["sh", "-c", "exit 7"]).code).toBe(7);
    expect(buncState()).toEqual([]);
    expect(d.ok(["ps", "-aq"]).trim()).toBe("");
  });

  test("a program that is not there: bunc's message reaches docker, exit 127", () => {
    const r = run(["--rm"], ["/nonexistent"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain("/nonexistent");
    expect(r.stderr).toContain("OCI runtime create failed");
    expect(buncState()).toEqual([]);
  });

  test("-t: the process's stdio is the pty; -i: stdin reaches it", () => {
    const t = run(["--rm", "-t"], ["sh", "-c", "tty; readlink /proc/self/fd/0; readlink /proc/self/fd/2"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toBe("/dev/pts/0\r\n/dev/pts/0\r\n/dev/pts/0\r\n");
    const i = run(["--rm", "-i"], ["cat"], "piped\n");
    expect(i.stdout).toBe("piped\n");
    expect(i.code).toBe(0);
  });

  // --user: the shim's pipes are made the user's (runc's fixStdioPermissions), so it reopens /dev/stdout
  test("--read-only, --tmpfs, -v, --user, --workdir, -e, --cap-drop/--cap-add, --init", () => {
    const r = run(["--rm", "--read-only", "--tmpfs", "/run:size=1m,mode=1777", "-v", `${volume}:/v:ro`, "--user", "1234:5678", "--workdir", "/tmp",
      "-e", "FOO=bar", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--init"],
    ["sh", "-c", "id; pwd; echo $FOO > /dev/stdout; cat /v/file; touch /x 2>/dev/null || echo ro; touch /run/y && echo tmpfs; grep CapBnd /proc/self/status; cat /proc/1/cmdline | tr '\\0' ' '"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "uid=1234 gid=5678 groups=5678", "/tmp", "bar", "in the volume", "ro", "tmpfs",
      "CapBnd:\t0000000000001000", // CAP_NET_ADMIN (12) alone
      expect.stringMatching(/^\/sbin\/docker-init -- sh -c /),
    ]);
    expect(r.code).toBe(0);
  });

  test("run -d, exec, top, pause/unpause, update, stop, start, rm", () => {
    const name = "life";
    d.ok(["run", "-d", "--name", name, "--runtime", "bunc", "--network", "none", "--memory", "64m", "--pids-limit", "50", d.image, "sleep", "1000"]);
    expect(status(name)).toBe("running");
    const id = d.ok(["inspect", "-f", "{{.Id}}", name]).trim();
    expect(buncState()).toEqual([id]);

    const e = d.docker(["exec", name, "sh", "-c", "echo pid=$$; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; exit 3"]);
    expect(e.stdout).toMatch(/^pid=\d+\n50\n$/);
    expect(e.stdout).not.toStartWith("pid=1\n");
    expect(e.code).toBe(3);
    expect(d.ok(["exec", "-u", "1000", name, "id", "-u"])).toBe("1000\n");
    expect(d.ok(["exec", "-i", name, "cat"], { stdin: "to exec\n" })).toBe("to exec\n");

    // docker top runs `bunc ps` for the host PIDs
    const top = d.ok(["top", name]).trim().split("\n");
    expect(top).toHaveLength(2);
    expect(top[1]).toContain("sleep 1000");

    d.ok(["pause", name]);
    expect(status(name)).toBe("paused");
    d.ok(["unpause", name]);
    expect(status(name)).toBe("running");

    d.ok(["update", "--memory", "128m", "--memory-swap", "256m", name]);
    const limit = d.ok(["exec", name, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"]).trim();
    expect(limit).toBe(String(128 * 1024 * 1024));

    // sleep as PID 1 ignores SIGTERM: docker's stop ends with SIGKILL through bunc's kill
    d.ok(["stop", "-t", "1", name], { timeout: 60_000 });
    expect(status(name)).toBe("exited");
    expect(d.ok(["inspect", "-f", "{{.State.ExitCode}}", name]).trim()).toBe("137");
    expect(buncState()).toEqual([]);

    d.ok(["start", name]);
    expect(status(name)).toBe("running");
    expect(d.ok(["exec", name, "echo", "again"])).toBe("again\n");
    d.ok(["rm", "-f", name], { timeout: 60_000 });
    expect(buncState()).toEqual([]);
  }, 120_000);
});
