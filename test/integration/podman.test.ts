// podman (Debian's 4.3.1, through conmon) with bunc as its OCI runtime: `--runtime
// dist/bunc`, an Alpine image imported from the minirootfs tarball, no network, and
// private storage (see Podman in test/support/engines.ts).
//
// Podman calls bunc with `--log-format=json --log <file>` because the private
// containers.conf lists "bunc" in runtime_supports_json. bunc keeps its state in its
// default root (/run/bunc): podman does not pass the environment on, and its cleanup
// process (`podman container cleanup`, run by conmon) drops --runtime-flag, so a
// private --root would leave the state of exited containers behind. The tests check
// that none of their containers is left there.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../support/harness";
import { engineSkipReason, Podman } from "../support/engines";

const skipReason = engineSkipReason(["podman", "conmon", "util-linux"], ["podman", "conmon", "script"]);
if (skipReason) console.warn(`podman tests skipped: ${skipReason}`);

describe.skipIf(!!skipReason)("podman --runtime bunc", () => {
  let pm: Podman;
  let img: string;
  const ids = new Set<string>();
  const run = (flags: string[], cmd: string[]) => pm.podman(["run", ...pm.runFlags(), ...flags, img, ...cmd]);
  /** `podman run -d`, remembering the container's id for the leak check. */
  const runDetached = (name: string, cmd: string[], flags: string[] = []) => {
    const id = pm.ok(["run", "-d", "--name", name, ...pm.runFlags(), ...flags, img, ...cmd]).trim();
    ids.add(id);
    return id;
  };
  const status = (name: string) => pm.ok(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name]).trim();
  const psStatus = (name: string) => pm.ok(["ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.Status}}"]).trim();

  beforeAll(() => {
    pm = new Podman();
    img = pm.image;
    pm.importAlpine();
  });

  afterEach(() => {
    for (const id of pm.containerIds()) ids.add(id);
  });

  afterAll(() => {
    if (!pm) return;
    // Containers podman did not delete through bunc are deleted here, and reported.
    expect(pm.cleanup(ids)).toEqual([]);
  });

  test("run --rm echo: output and exit status", () => {
    const r = run(["--rm"], ["echo", "hi"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(0);
    expect(run(["--rm"], ["sh", "-c", "exit 7"]).code).toBe(7);
  });

  test("an executable that is not there fails the run, with bunc's message", () => {
    const r = run(["--rm"], ["/nonexistent"]);
    // runc and crun: 127 (podman matches "no such file or directory" in the runtime's error).
    expect([126, 127]).toContain(r.code);
    expect(r.stderr).toContain("/nonexistent");
  });

  test("podman's seccomp profile is installed; a custom one is enforced; unconfined has none", () => {
    // The default profile (/usr/share/containers/seccomp.json) allows what busybox can
    // call with podman's default capabilities, so only its presence is visible.
    const r = run(["--rm"], ["grep", "^Seccomp:", "/proc/self/status"]);
    expect(r.stdout).toBe("Seccomp:\t2\n");
    const profile = join(pm.dir, "no-mkdir.json");
    writeFileSync(profile, JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    }));
    const c = run(["--rm", "--security-opt", `seccomp=${profile}`], ["sh", "-c", "mkdir /tmp/d && echo made; touch /tmp/f && echo touched"]);
    expect(c.stdout).toBe("touched\n");
    expect(c.stderr).toContain("Operation not permitted");
    const u = run(["--rm", "--security-opt", "seccomp=unconfined"], ["grep", "^Seccomp:", "/proc/self/status"]);
    expect(u.stdout).toBe("Seccomp:\t0\n");
  });

  test("run -d, exec, stop, start, kill, rm -f", () => {
    // sh as PID 1 ignores SIGTERM unless it traps it.
    runDetached("life", ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
    expect(status("life")).toBe("running 0");
    const e = pm.podman(["exec", "life", "sh", "-c", "echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '; exit 4"]);
    expect(e.code).toBe(4);
    expect(e.stdout).toMatch(/^pid=(\d+)\n/);
    expect(e.stdout).not.toMatch(/^pid=1\n/); // in the container's PID namespace, not its init
    expect(e.stdout).toContain("sh -c trap");
    expect(pm.podman(["exec", "-e", "FOO=bar", "-w", "/tmp", "life", "sh", "-c", "echo $FOO $PWD"]).stdout).toBe("bar /tmp\n");
    expect(pm.podman(["exec", "--user", "65534:65534", "life", "id", "-u"]).stdout).toBe("65534\n");

    pm.ok(["stop", "-t", "10", "life"]);
    expect(status("life")).toBe("exited 0");
    expect(psStatus("life")).toMatch(/^Exited \(0\)/);
    expect(pm.podman(["exec", "life", "true"]).code).not.toBe(0);

    pm.ok(["start", "life"]);
    expect(status("life")).toBe("running 0");
    pm.ok(["kill", "life"]);
    pm.ok(["wait", "life"]);
    expect(status("life")).toBe("exited 137");

    pm.ok(["start", "life"]);
    pm.ok(["kill", "--signal", "TERM", "life"]);
    pm.ok(["wait", "life"]);
    expect(status("life")).toBe("exited 0");

    // rm -f of a running container: bunc kill, then delete --force.
    pm.ok(["start", "life"]);
    pm.ok(["rm", "-f", "-t", "0", "life"]);
    expect(pm.podman(["inspect", "life"]).code).not.toBe(0);
  });

  // A todo while bunc warns on stderr about every syscall of podman's profile that it
  // does not know ("seccomp: unknown syscall "pciconfig_iobase" skipped", 8 lines):
  // conmon hands bunc exec's stderr to the user. runc logs these at debug level only.
  test("podman exec leaves the caller's stderr to the command", () => {
    runDetached("quiet", ["sleep", "1000"]);
    const e = pm.podman(["exec", "quiet", "echo", "hi"]);
    expect(e.stdout).toBe("hi\n");
    expect(e.stderr).toBe(""); // e.g. no seccomp compiler warnings from bunc
    pm.ok(["rm", "-f", "-t", "0", "quiet"]);
  });

  test("pause and unpause", () => {
    // The tick is renamed into place: a reader never sees it half-written.
    runDetached("frozen", ["sh", "-c", "while :; do date +%s%N > /tmp/t; mv /tmp/t /tmp/tick; sleep 0.05; done"]);
    const tick = () => pm.podman(["exec", "frozen", "cat", "/tmp/tick"]).stdout;
    waitFor(() => /^\d+\n$/.test(tick()), "the first tick");
    pm.ok(["pause", "frozen"]);
    expect(status("frozen")).toBe("paused 0");
    expect(psStatus("frozen")).toBe("Paused");
    pm.ok(["unpause", "frozen"]);
    expect(status("frozen")).toBe("running 0");
    expect(psStatus("frozen")).toMatch(/^Up /);
    // Running again: the tick moves on.
    const before = tick();
    expect(before).toMatch(/^\d+\n$/);
    waitFor(() => tick() !== before, "the tick to move on after unpause");
    // rm -f of a paused container.
    pm.ok(["pause", "frozen"]);
    pm.ok(["rm", "-f", "-t", "0", "frozen"]);
  });

  test("--read-only: / is read-only, podman's tmpfs are not", () => {
    const r = run(["--rm", "--read-only"], ["sh", "-c", "touch /x && echo wrote-root; touch /tmp/y && echo wrote-tmp"]);
    expect(r.stdout).toBe("wrote-tmp\n");
    expect(r.stderr).toContain("Read-only file system");
  });

  test("--cap-drop all: no effective capabilities", () => {
    const r = run(["--rm", "--cap-drop", "all"], ["grep", "-E", "^Cap(Eff|Prm|Bnd):", "/proc/self/status"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n");
    const d = run(["--rm"], ["grep", "^CapEff:", "/proc/self/status"]);
    expect(d.stdout).not.toBe("CapEff:\t0000000000000000\n");
  });

  test("--uidmap/--gidmap: a user namespace", () => {
    const r = run(["--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"], ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /etc/passwd"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    expect(lines).toEqual(["0 100000 65536", "0 100000 65536", "0", "0"]);
  });

  // Terminals: conmon runs `create --console-socket` and `exec --tty --console-socket`
  // and relays the pty master that bunc sends it to podman's own terminal.
  test("run -it and exec -it under a pty", () => {
    const script = (args: string[]) => pm.podmanInPty(args);
    // The short sleep: podman 4.3 attaches to conmon concurrently with `start`, and output of a
    // container that exits within milliseconds was seen lost once in a loaded CI run.
    const r = script(["run", "--rm", "-it", ...pm.runFlags(), img, "sh", "-c", "sleep 0.3; tty; stty size; exit 3"]);
    if (!r.stdout) console.error("podman -it gave", JSON.stringify(r));
    expect(r.stdout).toMatch(/\/dev\/pts\/0\r?\n/);
    expect(r.code).toBe(3);
    runDetached("term", ["sleep", "1000"]);
    const e = script(["exec", "-it", "term", "sh", "-c", "sleep 0.3; tty; exit 5"]);
    expect(e.stdout).toMatch(/\/dev\/pts\/\d+\r?\n/);
    expect(e.code).toBe(5);
    pm.ok(["rm", "-f", "-t", "0", "term"]);
  });

  test("--pid host: no PID namespace; stop and rm reach every process (kill --all)", () => {
    // durations of this run's own: the host's /proc is scanned, and other sleeps may be running there
    const a = 30_000 + Math.floor(Math.random() * 60_000), b = a + 1;
    runDetached("hostpid", ["sh", "-c", `sleep ${a} & sleep ${b} & wait`], ["--pid", "host"]);
    const e = pm.podman(["exec", "hostpid", "sh", "-c", "echo $$; readlink /proc/self/ns/pid"]);
    expect(Number(e.stdout.split("\n")[0])).toBeGreaterThan(1);
    expect(e.stdout).toContain(require("node:fs").readlinkSync("/proc/self/ns/pid"));
    const sleepers = () => require("node:fs").readdirSync("/proc").filter((p: string) => /^\d+$/.test(p)).filter((p: string) => {
      try { return new RegExp(`^sleep\\x00(${a}|${b})\\x00$`).test(require("node:fs").readFileSync(`/proc/${p}/cmdline`, "utf8")); } catch { return false; }
    });
    expect(sleepers().length).toBe(2);
    pm.ok(["rm", "-f", "-t", "1", "hostpid"]);
    waitFor(() => sleepers().length === 0, "the host-PID sleepers to die");
  });
});
