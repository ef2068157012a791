// Needs root. The one-shot's docker-like options (`bunc run --rootfs/--image T [options] -- cmd`),
// each observed from inside a real container: bind mounts and their ro-ness, tmpfs, env,
// cwd, user, the id, cgroup limits (memory, cpu, pids), the network (host or none), a
// read-only root and stdin. A bad option is one line naming it, and nothing is left behind.
import { describe, expect, test, afterAll } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot, mountsUnder } from "../support/harness";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { cgroupDirs as findCgroupDirs } from "../../scripts/cgroup-dirs";

const sb = fileSandbox();
const T = alpineTarball();
const project = join(sb.dir, "project");
const sh = (script: string) => ["--", "sh", "-c", script];
const oneShot = (opts: string[], script: string, o: Parameters<typeof sb.run>[1] = {}) => sb.run(["run", "--image", T, ...opts, ...sh(script)], o);

/** The container's cgroup directories on the host (v1: one per controller; v2: one). */
function cgroupDirs(id: string): string[] {
  return findCgroupDirs((n) => n === id, 3);
}

/** Everything a one-shot could leave: state and scratch dirs, mounts, cgroups, cache temporaries. */
function leftovers(id?: string): string[] {
  const state = existsSync(sb.root) ? readdirSync(sb.root) : [];
  const cache = join(sb.dir, "cache", "rootfs");
  const tmp = existsSync(cache) ? readdirSync(cache).filter((n) => n.startsWith(".tmp-")) : [];
  return [...state, ...tmp, ...mountsUnder(sb.dir), ...(id ? cgroupDirs(id) : [])];
}

describe.skipIf(!isRoot)("one-shot options (root)", () => {
  mkdirSync(join(project, "src"), { recursive: true });
  writeFileSync(join(project, "src/main.txt"), "project file\n");

  test("-v binds the caller's directory (relative SRC), :ro refuses writes, writes reach the host", () => {
    const r = oneShot(["-v", ".:/work", "-v", `${join(project, "src")}:/ro:ro`],
      "cat /work/src/main.txt; cat /ro/main.txt; echo made > /work/out.txt && echo rw-ok; touch /ro/x 2>/dev/null || echo ro-refused; grep ' /ro ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
      { cwd: project });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("project file\nproject file\nrw-ok\nro-refused\nro\n");
    expect(readFileSync(join(project, "out.txt"), "utf8")).toBe("made\n");
    expect(leftovers()).toEqual([]);
  });

  test("--tmpfs mounts a tmpfs of the given size", () => {
    const r = oneShot(["--tmpfs", "/scratch:size=2m", "--tmpfs", "/other"], "grep -E ' /(scratch|other) ' /proc/mounts | cut -d' ' -f1-3; df -k /scratch | tail -1 | awk '{print $2}'; echo x > /scratch/f && cat /scratch/f");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("tmpfs /scratch tmpfs\ntmpfs /other tmpfs\n2048\nx\n");
  });

  test("-e KEY=VAL, -e KEY from bunc's environment, --env-file (comments, -e wins)", () => {
    const file = join(sb.dir, "vars.env");
    writeFileSync(file, "# a comment\n\nFROM_FILE=yes\nBOTH=file\nPASSED\n");
    const r = oneShot(["--env-file", file, "-e", "A=1", "-e", "SPACED=a b=c", "-e", "BOTH=flag", "-e", "FROM_BUNC", "-e", "UNSET_HERE"],
      'echo "$A|$SPACED|$FROM_FILE|$BOTH|$FROM_BUNC|$PASSED|${UNSET_HERE-unset}|$PATH"',
      { env: { FROM_BUNC: "from bunc", PASSED: "passed on" } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1|a b=c|yes|flag|from bunc|passed on|unset|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  });

  test("-w sets the working directory (made when missing); -u UID:GID, UID alone and a name", () => {
    expect(oneShot(["-w", "/work/deep"], "pwd").stdout).toBe("/work/deep\n");
    expect(oneShot(["-u", "1000:1001"], "echo $(id -u):$(id -g)").stdout).toBe("1000:1001\n");
    // As docker: without a group, the user's group from the image's /etc/passwd (nobody: 65534), else 0.
    expect(oneShot(["-u", "65534"], "echo $(id -u):$(id -g)").stdout).toBe("65534:65534\n");
    expect(oneShot(["-u", "4242"], "echo $(id -u):$(id -g)").stdout).toBe("4242:0\n");
    expect(oneShot(["-u", "nobody"], "echo $(id -u):$(id -g)").stdout).toBe("65534:65534\n");
  });

  test("--name is the container id (its cgroup is named after it); a positional id too", () => {
    const r = oneShot(["--name", "named-one"], "grep -q '/named-one$' /proc/self/cgroup && echo in-cgroup");
    expect(r.stdout).toBe("in-cgroup\n");
    expect(leftovers("named-one")).toEqual([]);
    expect(sb.run(["run", "--image", T, "positional-id", ...sh("grep -q '/positional-id$' /proc/self/cgroup && echo in-cgroup")]).stdout).toBe("in-cgroup\n");
  });

  test("--memory sets the cgroup's limit, and a command going over it is OOM-killed (137)", () => {
    const r = oneShot(["--memory", "64m", "--name", "mem-limit"], "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${64 * 1024 * 1024}\n`);
    const oom = oneShot(["-m", "16m", "--name", "mem-oom"], "exec dd if=/dev/zero of=/dev/null bs=64M count=1");
    expect(oom.code).toBe(137);
    expect(leftovers("mem-oom")).toEqual([]);
  });

  test("--cpus sets the CFS quota over a 100 ms period", () => {
    const r = oneShot(["--cpus", "0.5"], "cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)");
    expect(r.stdout).toBe("50000 100000\n");
  });

  test("--pids-limit caps the processes: forks past it are refused", () => {
    const r = oneShot(["--pids-limit", "5", "--name", "pids-cap"],
      "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max; sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait' || echo refused");
    expect(r.stdout).toBe("5\nrefused\n");
    expect(r.stderr).toContain("can't fork");
    expect(leftovers("pids-cap")).toEqual([]);
  });

  test("--read-only: the root refuses writes; mounts and tmpfs still work", () => {
    const r = oneShot(["--read-only", "--tmpfs", "/tmp", "-v", `${project}:/new/dir`], "touch /x 2>/dev/null || echo root-refused; touch /tmp/ok && echo tmp-ok; ls /new/dir/src");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("root-refused\ntmp-ok\nmain.txt\n");
    // Without it the root is writable (a private overlay).
    expect(oneShot([], "touch /x && echo writable").stdout).toBe("writable\n");
  });

  test("-i passes stdin through; without it stdin is /dev/null", () => {
    expect(sb.run(["run", "-i", "--image", T, "--", "cat"], { stdin: "through\n" }).stdout).toBe("through\n");
    const r = sb.run(["run", "--image", T, ...sh("readlink /proc/self/fd/0; cat; echo end")], { stdin: "not given\n" });
    expect(r.stdout).toBe("/dev/null\nend\n");
  });

  test("--net none (the default) sees only lo", () => {
    expect(oneShot(["--net", "none"], "ls /sys/class/net").stdout).toBe("lo\n");
    expect(oneShot([], "ls /sys/class/net").stdout).toBe("lo\n");
  });

  test("--net host sees the host's interfaces, reaches a 127.0.0.1 server, and has the host's resolv.conf and hosts read-only", async () => {
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from the host\n") });
    try {
      const url = `http://127.0.0.1:${server.port}/`;
      const run = async (net: string) => {
        const p = Bun.spawn([...BUNC, "--root", sb.root, "run", "--image", T, "--net", net, ...sh(
          `ls /sys/class/net | tr '\\n' ' '; echo; wget -q -T 3 -O - ${url} || echo unreachable; ` +
          "cat /etc/resolv.conf | md5sum | cut -d' ' -f1; cat /etc/hosts | md5sum | cut -d' ' -f1; { echo x >> /etc/resolv.conf; } 2>/dev/null || echo resolv-ro")],
          { env: { ...process.env, BUNC_CACHE_DIR: join(sb.dir, "cache") }, stdout: "pipe", stderr: "pipe" });
        const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
        return { out: out.split("\n"), err, code };
      };
      const md5 = (f: string) => new Bun.CryptoHasher("md5").update(readFileSync(f)).digest("hex");
      const host = await run("host");
      expect(host.err).toBe("");
      expect(host.out[0]!.trim().split(" ").sort()).toEqual(readdirSync("/sys/class/net").sort());
      expect(host.out.slice(1, 6)).toEqual(["hello from the host", md5("/etc/resolv.conf"), md5("/etc/hosts"), "resolv-ro", ""]);
      const none = await run("none");
      expect(none.out.slice(0, 2)).toEqual(["lo ", "unreachable"]);
    } finally {
      server.stop(true);
    }
  });

  test("--image and --rootfs are the same flag", () => {
    expect(sb.run(["run", "--rootfs", T, "--", "cat", "/etc/alpine-release"]).stdout).toMatch(/^3\.\d+/);
    expect(sb.run(["run", "--image", T, "--", "cat", "/etc/alpine-release"]).stdout).toMatch(/^3\.\d+/);
  });

  const bad: [string[], RegExp][] = [
    [["-v", "nope:/x"], /^bunc: -v\/--volume nope:\/x: the source nope does not exist/],
    [["-v", "/tmp"], /^bunc: -v\/--volume \/tmp: expected SRC:DST/],
    [["-v", "/tmp:relative"], /^bunc: -v\/--volume \/tmp:relative: the destination relative must be an absolute path/],
    [["-v", "/tmp:/x:rx"], /^bunc: -v\/--volume \/tmp:\/x:rx: unknown option "rx"/],
    [["-v", `${project}/src/main.txt:/bin`], /^bunc: -v\/--volume \S+main.txt:\/bin: \/bin is a directory in the image \(the source is not\)$/m],
    [["-v", `${project}:/etc/hostname`], /^bunc: -v\/--volume \S+project:\/etc\/hostname: \/etc\/hostname is not a directory in the image/],
    [["-v", "/tmp:/x", "-v", "/etc:/x/"], /^bunc: -v\/--volume: \/x is mounted twice/],
    [["--tmpfs", "/t:size=lots"], /^bunc: --tmpfs \/t:size=lots: size lots is not a size/],
    [["--tmpfs", "/t:nosuchopt"], /^bunc: --tmpfs \/t:nosuchopt: unknown tmpfs option "nosuchopt"/],
    [["-e", "=x"], /^bunc: -e\/--env =x: the variable name is empty/],
    [["-e", "A B=x"], /^bunc: -e\/--env A B=x: the variable name "A B" contains whitespace/],
    [["--env-file", "/no/such/file"], /^bunc: --env-file \/no\/such\/file: no such file/],
    [["-w", "relative"], /^bunc: -w\/--workdir relative: must be an absolute path/],
    [["-u", "1:2:3"], /^bunc: -u\/--user 1:2:3: expected UID\[:GID\]/],
    [["-u", "nosuchuser"], /^bunc: -u\/--user nosuchuser: no such user in the image's \/etc\/passwd/],
    [["--net", "bridge"], /^bunc: --net bridge: expected host or none/],
    [["--memory", "lots"], /^bunc: --memory lots: not a size/],
    [["--memory", "1k"], /^bunc: --memory 1k: below the minimum of 6m/],
    [["--cpus", "0"], /^bunc: --cpus 0: expected a number of CPUs from 0\.01 to \d+/],
    [["--cpus", "100000"], /^bunc: --cpus 100000: expected a number of CPUs/],
    [["--pids-limit", "0"], /^bunc: --pids-limit 0: expected a positive whole number/],
    [["--pids-limit", "many"], /^bunc: --pids-limit many: expected a positive whole number/],
    [["--name", "a/b"], /^bunc: --name a\/b: not a container id/],
    [["--name", "one", "two"], /^bunc: --name one: the container id is already two/],
  ];
  test.each(bad.map(([a, m]) => [a.join(" "), a, m] as const))("%s: one line naming the flag, non-zero, nothing left", (_n, args, message) => {
    const r = sb.run(["run", "--image", T, ...(args.includes("--name") ? [] : ["--name", "bad-opt"]), ...args, "--", "true"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stdout).toBe("");
    expect(leftovers("bad-opt")).toEqual([]);
  });

  test("a one-shot option without --rootfs/--image is refused", () => {
    const r = sb.run(["run", "-v", "/tmp:/x", "someid"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("bunc: run: --volume needs --rootfs/--image (a bundle's settings are in its config.json)\n");
  });
});

afterAll(() => {
  expect(leftovers()).toEqual([]);
});
