// OCI hooks through the real binary (needs root): the six kinds in order, each with the
// state JSON on stdin, its args and env only, in the right namespace; the failure rules
// (fatal before start, a warning after) and timeouts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { isRoot, mountsUnder, pidAlive, fileSandbox } from "../support/harness";

const sb = fileSandbox();

// The hooks live in a host directory bound into the container at the same path, so the
// startContainer hook (run inside the container) finds the script and the log too.
const hooksDir = join(sb.dir, "hooks");
const LOG = join(hooksDir, "hooks.log");
const HOOK = join(hooksDir, "hook.sh");
const KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

beforeAll(() => {
  mkdirSync(hooksDir, { recursive: true });
  // One line per call: kind, $2, HOOK_VAR, hostname, a variable of bunc's env (must not leak), stdin.
  // One write per line (O_APPEND): hooks that overlap cannot interleave their lines.
  writeFileSync(HOOK, [
    "#!/bin/sh",
    `line="$1 $2 $HOOK_VAR $(hostname) \${BUNC_LEAK:-none} $(cat)"`,
    `[ -n "$DELAY" ] && sleep "$DELAY"`,
    `printf '%s\\n' "$line" >> "$LOG"`,
    `exit "\${EXIT:-0}"`,
  ].join("\n") + "\n");
  chmodSync(HOOK, 0o755);
});

interface Call { kind: string; arg: string; hookVar: string; host: string; leak: string; state: any }
function calls(): Call[] {
  if (!existsSync(LOG)) return [];
  return readFileSync(LOG, "utf8").trim().split("\n").filter(Boolean).map((l) => {
    const [kind, arg, hookVar, host, leak, ...rest] = l.split(" ");
    let state;
    try {
      state = JSON.parse(rest.join(" "));
    } catch {
      throw new Error(`hook log line is not "<fields> <state JSON>": ${JSON.stringify(l)}`);
    }
    return { kind: kind!, arg: arg!, hookVar: hookVar!, host: host!, leak: leak!, state };
  });
}

const hook = (kind: string, extra: { env?: string[]; timeout?: number; path?: string } = {}) => ({
  path: extra.path ?? HOOK, args: ["hook.sh", kind, "second-arg"], env: [`LOG=${LOG}`, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", `HOOK_VAR=var-${kind}`, ...(extra.env ?? [])],
  ...(extra.timeout ? { timeout: extra.timeout } : {}),
});

async function hookBundle(id: string, hooks: Record<string, any[]>) {
  return sb.bundle(id, ["true"], (c) => {
    c.hostname = "ctr-host";
    c.mounts.push({ destination: hooksDir, type: "bind", source: hooksDir, options: ["bind"] });
    c.hooks = hooks;
  });
}

describe.skipIf(!isRoot)("hooks (root)", () => {
  test("all six kinds: order, state on stdin, args and env, namespaces", async () => {
    rmSync(LOG, { force: true });
    const b = await hookBundle("hk", Object.fromEntries(KINDS.map((k) => [k, [hook(k)]])));
    const r = sb.run(["run", "-b", b, "hk"], { env: { BUNC_LEAK: "leaked" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const cs = calls();
    // startContainer and poststart may overlap (see the todo below): compare as a set.
    const kinds = cs.map((c) => c.kind);
    expect(kinds.slice(0, 3)).toEqual(["prestart", "createRuntime", "createContainer"]);
    expect(kinds.slice(3, 5).sort()).toEqual(["poststart", "startContainer"]);
    expect(kinds[5]).toBe("poststop");
    for (const c of cs) {
      expect(c.arg).toBe("second-arg");
      expect(c.hookVar).toBe(`var-${c.kind}`);
      expect(c.leak).toBe("none");
      expect(c.state).toMatchObject({ ociVersion: expect.any(String), id: "hk", bundle: b });
    }
    const by = Object.fromEntries(cs.map((c) => [c.kind, c]));
    expect(by.prestart!.state.status).toBe("creating");
    expect(by.createRuntime!.state.status).toBe("creating");
    expect(by.poststart!.state.status).toBe("running");
    expect(by.poststop!.state.status).toBe("stopped");
    // Every hook but poststop sees the init's host pid.
    const pid = by.prestart!.state.pid;
    expect(pid).toBeGreaterThan(1);
    for (const k of ["createRuntime", "createContainer", "startContainer", "poststart"]) expect(by[k]!.state.pid).toBe(pid);
    // Runtime namespace vs container namespace.
    expect(by.createRuntime!.host).toBe(hostname());
    expect(by.prestart!.host).toBe(hostname());
    expect(by.startContainer!.host).toBe("ctr-host");
    expect(by.poststart!.host).toBe(hostname());
  });

  // runc's hooks.bats: a startContainer hook without env of its own gets the process's
  // environment (HOME included), on both setup paths; its stderr is the container's.
  for (const [how, env] of [["bunc sets up the rootfs", {}], ["the Bun init sets up the rootfs", { BUNC_HOST_SETUP: "0" }]] as const) {
    test(`a startContainer hook without env has the process's environment (${how})`, async () => {
      const id = `hkenv${Object.keys(env).length}`;
      const b = await sb.bundle(id, ["true"], (c) => {
        c.process.env = ["ONE=two", "FOO=bar", "PATH=/usr/bin:/bin"];
        c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", 'test "$ONE" = two && test "$FOO" = bar && test "$HOME" = /root || { echo "env: $ONE $FOO $HOME" >&2; exit 3; }'] }] };
      });
      const r = sb.run(["run", "-b", b, id], { env });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const f = await sb.bundle(`${id}f`, ["true"], (c) => {
        c.hooks = { startContainer: [{ path: "/bin/busybox", args: ["cat", "/nosuchfile"] }] };
      });
      const bad = sb.run(["run", "-b", f, `${id}f`], { env });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain("cat: can't open '/nosuchfile'");
      expect(sb.containers()).toEqual([]);
    });
  }

  // runc (standard_init_linux.go): startContainer hooks run last before the program, with its
  // user, capabilities, working directory and seccomp filter; a hook from the container's
  // image gets no more than the program would.
  test("a startContainer hook runs as the process: its user, capabilities, cwd and seccomp filter", async () => {
    const id = "hkpriv";
    const b = await sb.bundle(id, ["true"], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.cwd = "/tmp";
      c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }] };
      c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", 'echo "uid=$(id -u) cwd=$(pwd) $(grep CapEff /proc/self/status | tr -d "\t")"; mkdir /dev/shm/hook-dir 2>&1 || true'] }] };
    });
    const r = sb.run(["run", "-b", b, id]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("uid=1000 cwd=/tmp CapEff:0000000000000000\nmkdir: can't create directory '/dev/shm/hook-dir': Operation not permitted\n");
    expect(sb.containers()).toEqual([]);
  });

  test("createContainer sees status creating, startContainer sees created", async () => {
    rmSync(LOG, { force: true });
    const b = await hookBundle("hkst", { createContainer: [hook("createContainer")], startContainer: [hook("startContainer")] });
    sb.ok(["run", "-b", b, "hkst"]);
    const by = Object.fromEntries(calls().map((c) => [c.kind, c]));
    expect(by.createContainer!.state.status).toBe("creating");
    expect(by.startContainer!.state.status).toBe("created");
  });

  test("poststart runs after the startContainer hooks and the program's execve", async () => {
    rmSync(LOG, { force: true });
    const b = await hookBundle("hkord", { startContainer: [hook("startContainer", { env: ["DELAY=0.5"] })], poststart: [hook("poststart")] });
    sb.ok(["run", "-b", b, "hkord"]);
    expect(calls().map((c) => c.kind)).toEqual(["startContainer", "poststart"]);
  });

  for (const kind of ["prestart", "createRuntime"] as const) {
    test(`a failing ${kind} hook fails create and leaves nothing; poststop still runs`, async () => {
      rmSync(LOG, { force: true });
      const b = await hookBundle(`fail-${kind}`, { [kind]: [hook(kind, { env: ["EXIT=3"] })], poststop: [hook("poststop")] });
      const r = sb.run(["create", "-b", b, `fail-${kind}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${kind} hook`);
      expect(r.stderr).toContain("exit status 3");
      const cs = calls();
      expect(cs.map((c) => c.kind)).toEqual([kind, "poststop"]);
      expect(pidAlive(cs[0]!.state.pid)).toBe(false);
      expect(sb.containers()).toEqual([]);
      expect(mountsUnder(sb.dir)).toEqual([]);
    });
  }

  // runc's hooks.bats: the error names the kind and the hook's index ("#1": the second),
  // in runc's words, whichever process runs it (bunc, the Bun init or the native init).
  for (const kind of ["prestart", "createRuntime", "createContainer", "startContainer", "poststart"] as const)
    test(`a failing ${kind} hook: "error running ${kind} hook #1: /bin/false: exit status 1"`, async () => {
      const id = `hix-${kind.toLowerCase()}`;
      const b = await sb.bundle(id, ["true"], (c) => (c.hooks = { [kind]: [{ path: "/bin/true" }, { path: "/bin/false" }] }));
      const r = sb.run(["run", "-b", b, id]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error running ${kind} hook #1: /bin/false: exit status 1`);
      expect(sb.containers()).toEqual([]);
    });

  test("a failing poststart hook stops the container and fails start (spec 1.3); a failing poststop hook is a warning", async () => {
    rmSync(LOG, { force: true });
    const b = await hookBundle("warn", { poststart: [hook("poststart", { env: ["EXIT=4"] })], poststop: [hook("poststop", { env: ["EXIT=5"] })] });
    const r = sb.run(["run", "-b", b, "warn"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/poststart hook .* exit status 4/);
    expect(r.stderr).toMatch(/warn.*poststop hook .* exit status 5/);
    expect(calls().map((c) => c.kind)).toEqual(["poststart", "poststop"]);
    expect(sb.containers()).toEqual([]);
    rmSync(LOG, { force: true });
    sb.ok(["create", "-b", b, "warn2"]);
    const s = sb.run(["start", "warn2"]);
    expect(s.code).toBe(1);
    expect(JSON.parse(sb.ok(["state", "warn2"])).status).toBe("stopped");
    sb.run(["delete", "warn2"]);
    expect(sb.containers()).toEqual([]);
  });

  test("a hook that outlives its timeout is killed and fails create", async () => {
    const slow = join(hooksDir, "slow.sh");
    // It would never end by itself: create returns (before the harness's 30 s limit) only if bunc kills it.
    // `exec`: the hook is the sleeper itself (bunc kills the hook, as runc; a child of a shell would outlive it).
    const marker = `999.${process.pid}`;
    writeFileSync(slow, `#!/bin/sh\nexec sleep ${marker}\n`);
    chmodSync(slow, 0o755);
    const b = await hookBundle("slow", { createRuntime: [{ path: slow, timeout: 1 }] });
    const r = sb.run(["create", "-b", b, "slow"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("timed out");
    expect(sb.containers()).toEqual([]);
    expect(Bun.spawnSync(["pgrep", "-f", `sleep ${marker}`]).stdout.toString()).toBe("");
  });

  test("a hook path that does not exist fails create", async () => {
    const b = await hookBundle("nohook", { prestart: [{ path: "/no/such/hook" }] });
    const r = sb.run(["create", "-b", b, "nohook"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/no/such/hook");
    expect(sb.containers()).toEqual([]);
  });
});
