// Needs root. The library's run()/create() with the one-shot options (mounts, env, cwd,
// user, network, resources, readOnly), an AbortSignal and a timeout that kill and remove
// the container, and stdout/stderr as streams that deliver output as it comes.
import { describe, expect, test, afterAll } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot, mountsUnder, until } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { BuncError, create, run } from "../../src/index";
import { cgroupDirs as findCgroupDirs } from "../../scripts/cgroup-dirs";

const sb = fileSandbox();
process.env.BUNC_CACHE_DIR = join(sb.dir, "cache");
const image = alpineTarball();
const root = sb.root;

function cgroupDirs(id: string): string[] {
  return findCgroupDirs((n) => n === id, 3);
}

/** State, scratch, cache temporaries, mounts and cgroups a run could leave. */
function leftovers(id?: string): string[] {
  const state = existsSync(root) ? readdirSync(root) : [];
  const cache = join(sb.dir, "cache", "rootfs");
  const tmp = existsSync(cache) ? readdirSync(cache).filter((n) => n.startsWith(".tmp-")) : [];
  return [...state, ...tmp, ...mountsUnder(sb.dir), ...(id ? cgroupDirs(id) : [])];
}

const pidAlive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

describe.skipIf(!isRoot)("library run()/create() options (root)", () => {
  const project = join(sb.dir, "project");
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, "package.json"), "{}\n");

  test("mounts (objects, docker strings, tmpfs), env, envFile, cwd, user, readOnly", async () => {
    writeFileSync(join(sb.dir, "lib.env"), "FROM_FILE=1\n");
    const r = await run({
      image, root,
      cmd: ["sh", "-c", "cat /src/package.json; touch /src/x 2>/dev/null || echo src-ro; echo hi > /out/f; grep ' /t ' /proc/mounts | cut -d' ' -f3; touch /y 2>/dev/null || echo root-ro; echo $A $FROM_FILE $(pwd) $(id -u):$(id -g)"],
      mounts: [{ source: project, destination: "/src", readonly: true }, `${sb.dir}:/out`, { type: "tmpfs", destination: "/t", size: "1m" }],
      env: { A: "a" }, envFile: join(sb.dir, "lib.env"), cwd: "/t", user: "0:0", readOnly: true,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("{}\nsrc-ro\ntmpfs\nroot-ro\na 1 /t 0:0\n");
    expect(readFileSync(join(sb.dir, "f"), "utf8")).toBe("hi\n");
  });

  test("resources and network: limits in the container's cgroup, the host's interfaces", async () => {
    const r = await run({
      image, root, id: "lib-limits", network: "host", resources: { memory: "48m", cpus: 0.25, pids: 7 },
      cmd: ["sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us; ls /sys/class/net | wc -l"],
    });
    expect(r.stdout.split("\n")).toEqual([`${48 * 1024 * 1024}`, "7", expect.stringMatching(/^25000( 100000)?$/), String(readdirSync("/sys/class/net").length), ""]);
    expect(leftovers("lib-limits")).toEqual([]);
    expect((await run({ image, root, network: "none", cmd: ["ls", "/sys/class/net"] })).stdout).toBe("lo\n");
  });

  test("stdout and stderr are streams that deliver output as it comes, and are captured too", async () => {
    const p = run({ image, root, cmd: ["sh", "-c", "echo first; echo err1 >&2; sleep 1; echo second"] });
    expect(p.stdout).toBeInstanceOf(ReadableStream);
    let settled = false;
    p.then(() => (settled = true), () => (settled = true));
    const reader = p.stdout!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first\n");
    expect(settled).toBe(false); // the command is still sleeping
    const errText = new Response(p.stderr).text();
    let rest = "";
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
    expect(rest).toBe("second\n");
    const r = await p;
    expect(r).toMatchObject({ exitCode: 0, stdout: "first\nsecond\n", stderr: "err1\n" });
    expect(await errText).toBe("err1\n");
  });

  test("timeout kills and removes the container, and run() rejects", async () => {
    const p = run({ image, root, id: "lib-timeout", cmd: ["sleep", "30"], timeout: 500 });
    const e = await p.then(() => undefined, (e) => e);
    expect(e).toBeInstanceOf(BuncError);
    expect(e.message).toBe("container lib-timeout: timed out after 500 ms; it was killed and removed");
    expect(leftovers("lib-timeout")).toEqual([]);
  });

  test("an AbortSignal kills and removes the container, and run() rejects; an aborted signal starts nothing", async () => {
    const ac = new AbortController();
    const p = run({ image, root, id: "lib-abort", cmd: ["sh", "-c", "echo up; sleep 30"], signal: ac.signal });
    const reader = p.stdout!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("up\n");
    expect(existsSync(join(root, "lib-abort"))).toBe(true);
    ac.abort();
    const e = await p.then(() => undefined, (e) => e);
    expect(e).toBeInstanceOf(BuncError);
    expect(e.message).toBe("container lib-abort: aborted; it was killed and removed");
    expect(leftovers("lib-abort")).toEqual([]);
    const again = await run({ image, root, id: "lib-abort2", cmd: ["true"], signal: AbortSignal.abort() }).then(() => undefined, (e) => e);
    expect(again).toBeInstanceOf(BuncError);
    expect(leftovers("lib-abort2")).toEqual([]);
  });

  test("create(): stdout as a stream, exited, and removal by timeout and by signal", async () => {
    {
      await using box = await create({ image, root, cmd: ["sh", "-c", "echo ready; exec sleep 30"], stdout: "pipe" });
      const reader = box.stdout!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
      reader.releaseLock();
    }
    expect(leftovers()).toEqual([]);

    const timed = await create({ image, root, id: "lib-create-timeout", cmd: ["sleep", "30"], timeout: 300 });
    expect(pidAlive(timed.pid)).toBe(true);
    await until(() => !existsSync(join(root, "lib-create-timeout")), "the timed-out container to be removed");
    expect(pidAlive(timed.pid)).toBe(false);
    expect(leftovers("lib-create-timeout")).toEqual([]);

    const ac = new AbortController();
    const aborted = await create({ image, root, id: "lib-create-abort", cmd: ["sleep", "30"], signal: ac.signal });
    const exited = aborted.exited;
    ac.abort();
    expect(await exited).toBe(137);
    await until(() => !existsSync(join(root, "lib-create-abort")), "the aborted container to be removed");
    expect(leftovers("lib-create-abort")).toEqual([]);

    const done = await create({ image, root, cmd: ["sh", "-c", "exit 5"] });
    expect(await done.exited).toBe(5);
    await done.remove();
    expect(leftovers()).toEqual([]);
  });

  const bad: [string, object, string][] = [
    ["a missing mount source", { mounts: ["no-such-dir:/x"] }, "mounts[0] no-such-dir:/x: the source no-such-dir does not exist"],
    ["a relative destination", { mounts: [{ source: "/tmp", destination: "x" }] }, 'mounts[0] {"source":"/tmp","destination":"x"}: the destination x must be an absolute path'],
    ["a bad tmpfs size", { mounts: [{ type: "tmpfs", destination: "/t", size: "huge" }] }, 'mounts[0] {"type":"tmpfs","destination":"/t","size":"huge"}: size huge is not a size (e.g. 64m, 1g, or bytes)'],
    ["a bad memory", { resources: { memory: "lots" } }, "resources.memory lots: not a size (e.g. 64m, 1g, or bytes)"],
    ["a bad cpus", { resources: { cpus: -1 } }, "resources.cpus -1: expected a number of CPUs"],
    ["a bad pids", { resources: { pids: 1.5 } }, "resources.pids 1.5: expected a positive whole number of processes"],
    ["a bad network", { network: "bridge" }, "network bridge: expected host or none"],
    ["a relative cwd", { cwd: "here" }, "cwd here: must be an absolute path in the container"],
    ["a bad user", { user: "x:y:z" }, "user x:y:z: expected UID[:GID]"],
    ["an unknown user", { user: "nosuchuser" }, "user nosuchuser: no such user in the image's /etc/passwd"],
    ["a bad env", { env: ["=v"] }, "env =v: the variable name is empty"],
    ["a bad timeout", { timeout: -5 }, "timeout -5: expected a positive number of milliseconds"],
  ];
  test.each(bad)("%s: a BuncError naming the option, nothing left", async (_n, extra, message) => {
    for (const f of [run, create] as const) {
      const e = await (f as any)({ image, root, id: "lib-bad", cmd: ["true"], ...extra }).then(() => undefined, (e: unknown) => e);
      expect(e).toBeInstanceOf(BuncError);
      expect(e.message).toStartWith(message);
      expect(leftovers("lib-bad")).toEqual([]);
    }
  });
});

afterAll(() => {
  expect(leftovers()).toEqual([]);
});
