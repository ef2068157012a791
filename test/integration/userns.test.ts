// User namespaces (needs root): container 0 -> host 100000 (65536 ids) on a private
// rootfs chowned to the mapped range; root inside, the maps from inside, and the host
// owner of files the container creates.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUNC, isRoot, mountsUnder, fileSandbox } from "../support/harness";
import { RECEIVER } from "../support/console";

const sb = fileSandbox();

const BASE = 100000, SIZE = 65536;
let rootfs = "";

/** A bundle in a user namespace on the private, chowned rootfs (made once). */
async function usernsBundle(id: string, args: string[], edit: (c: any) => void = () => {}) {
  return sb.bundle(id, args, (c) => {
    c.root = { path: rootfs, readonly: false };
    c.linux.namespaces.push({ type: "user" });
    c.linux.uidMappings = [{ containerID: 0, hostID: BASE, size: SIZE }];
    c.linux.gidMappings = [{ containerID: 0, hostID: BASE, size: SIZE }];
    edit(c);
  });
}

describe.skipIf(!isRoot)("user namespace (root)", () => {
  beforeAll(async () => {
    // The mapped root (host 100000) must be able to reach the rootfs: the sandbox is 0700.
    chmodSync(sb.dir, 0o711);
    const b = await sb.bundle("userns-rootfs", ["true"], () => {}, true);
    rootfs = join(b, "rootfs");
    const r = Bun.spawnSync(["chown", "-R", "-h", `${BASE}:${BASE}`, rootfs]);
    if (r.exitCode !== 0) throw new Error(`chown: ${r.stderr}`);
  });

  test("root inside is host 100000: id, the maps, the user namespace, file ownership", async () => {
    const script = [
      "id",
      "cat /proc/self/uid_map /proc/self/gid_map",
      "readlink /proc/self/ns/user",
      "touch /made-by-root",
      "mkdir -p /tmp/d && echo ok > /tmp/d/f && cat /tmp/d/f",
      "stat -c '%u:%g' /etc/passwd",
    ].join("; ");
    const b = await usernsBundle("uroot", ["sh", "-c", script]);
    const r = sb.run(["run", "-b", b, "uroot"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [id, uidMap, gidMap, userNs, ok, owner] = r.stdout.trim().split("\n");
    expect(id).toMatch(/^uid=0\(root\) gid=0\(root\)/);
    expect(uidMap!.trim().split(/\s+/)).toEqual(["0", String(BASE), String(SIZE)]);
    expect(gidMap!.trim().split(/\s+/)).toEqual(["0", String(BASE), String(SIZE)]);
    expect(userNs).not.toBe(readlinkSync("/proc/self/ns/user"));
    expect(ok).toBe("ok");
    expect(owner).toBe("0:0"); // the rootfs's 100000 is root inside
    expect(statSync(join(rootfs, "made-by-root"))).toMatchObject({ uid: BASE, gid: BASE });
    expect(statSync(join(rootfs, "tmp/d/f"))).toMatchObject({ uid: BASE, gid: BASE });
  });

  test("a non-zero process.user is mapped too", async () => {
    const b = await usernsBundle("uuser", ["sh", "-c", "id -u; id -g; touch /tmp/made-by-1000"], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
    });
    const r = sb.run(["run", "-b", b, "uuser"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1000\n1000\n");
    expect(statSync(join(rootfs, "tmp/made-by-1000"))).toMatchObject({ uid: BASE + 1000, gid: BASE + 1000 });
  });

  test("create/start/delete in a user namespace; the init's credentials on the host", async () => {
    const b = await usernsBundle("ulife", ["sleep", "30"]);
    sb.ok(["create", "-b", b, "ulife"]);
    try {
      const pid = JSON.parse(sb.ok(["state", "ulife"])).pid;
      sb.ok(["start", "ulife"]);
      const st = require("node:fs").readFileSync(`/proc/${pid}/status`, "utf8");
      expect(st).toMatch(new RegExp(`^Uid:\\s+${BASE}\\s+${BASE}\\s+${BASE}\\s+${BASE}$`, "m"));
      expect(readlinkSync(`/proc/${pid}/ns/user`)).not.toBe(readlinkSync("/proc/self/ns/user"));
    } finally {
      sb.ok(["delete", "--force", "ulife"]);
    }
    expect(sb.containers()).toEqual([]);
  });

  test("an unmapped process.user fails create and leaves nothing", async () => {
    const b = await usernsBundle("unmapped", ["true"], (c) => (c.process.user = { uid: SIZE + 5, gid: 0 }));
    const r = sb.run(["run", "-b", b, "unmapped"]);
    expect(r.code).not.toBe(0);
    expect(sb.containers()).toEqual([]);
  });

  // glibc's setgroups/setresuid broadcast to every thread of the process the native stage was
  // cloned from (Bun's, absent in the clone) and could wait forever: about one start in 45 hung.
  /** execve/execveat calls in an strace -f log: bunc, the native init, a Bun init (bunc by fd), the program. */
  const execs = (trace: string) => readFileSync(trace, "utf8").split("\n").filter((l) => /execve(at)?\(/.test(l) && !/resumed|ENOENT/.test(l));

  test.skipIf(!Bun.which("strace"))("bunc sets up a user-namespace container from the host (no second Bun); what it makes is the container root's", async () => {
    const id = "uhs" + Math.random().toString(36).slice(2, 6);
    const b = await usernsBundle(id, ["sh", "-c", "stat -c %u:%g / /dev /dev/shm /dev/null . && touch /dev/made && echo made"], (c) => {
      c.process.cwd = "/made/by/bunc";
    });
    const trace = join(sb.dir, `${id}.strace`);
    const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=execve,execveat", "-o", trace, ...BUNC, "--root", sb.root, "run", "-b", b, id]);
    expect(r.stderr.toString()).toBe("");
    // /dev/null is the host's node, bound (a user namespace cannot mknod): the host's root is nobody inside.
    expect(r.stdout.toString()).toBe("0:0\n0:0\n0:0\n65534:65534\n0:0\nmade\n");
    // The native init, and no Bun init (bunc executed again by fd).
    expect(execs(trace).filter((l) => l.includes('"bunc-init"')).length).toBe(1);
    expect(execs(trace).filter((l) => l.includes("execveat(")).length).toBe(0);
  });

  test("the Bun init (BUNC_HOST_SETUP=0) makes the same: /dev, a created cwd, mount points are the container root's", async () => {
    const id = "uhb" + Math.random().toString(36).slice(2, 6);
    const b = await usernsBundle(id, ["sh", "-c", "stat -c %u:%g / /dev /dev/shm /dev/null . && touch /dev/made && echo made"], (c) => {
      c.process.cwd = "/made/by/init";
    });
    const r = sb.run(["run", "-b", b, id], { env: { BUNC_HOST_SETUP: "0" } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0:0\n0:0\n0:0\n65534:65534\n0:0\nmade\n");
  });

  test.skipIf(!Bun.which("script"))("a terminal in a user namespace: the pty is the process user's, group tty inside", async () => {
    const id = "uht" + Math.random().toString(36).slice(2, 6);
    const b = await usernsBundle(id, ["sh", "-c", "stat -c %u:%g $(tty)"], (c) => {
      c.process.terminal = true;
      c.process.user = { uid: 1000, gid: 1000 };
    });
    const p = Bun.spawnSync(["script", "-qec", `${[...BUNC, "--root", sb.root, "run", "-b", b, id].join(" ")}; echo "EXIT=$?"`, "/dev/null"], { stdin: "ignore" });
    const out = p.stdout.toString().replace(/\r/g, "");
    expect(out).toContain("1000:5\n");
    expect(out).toContain("EXIT=0");
  });

  /** The first line of uid_map and gid_map as fields ("0 100000 65536"). */
  const mapOf = (text: string) => text.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
  const CONTAINER_MAP = `0 ${BASE} ${SIZE}`;

  test("exec into a user-namespace container: root inside, its maps and user namespace; --user; detached", async () => {
    const id = "uexec" + Math.random().toString(36).slice(2, 6);
    const b = await usernsBundle(id, ["sleep", "60"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const initPid = JSON.parse(sb.ok(["state", id])).pid;
      const r = sb.run(["exec", id, "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user; readlink /proc/self/ns/mnt; touch /tmp/by-exec"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const [uid, gid, uidMap, gidMap, userNs, mntNs] = r.stdout.trim().split("\n");
      expect([uid, gid]).toEqual(["0", "0"]);
      expect(mapOf(uidMap!)).toEqual([CONTAINER_MAP]);
      expect(mapOf(gidMap!)).toEqual([CONTAINER_MAP]);
      expect(userNs).toBe(readlinkSync(`/proc/${initPid}/ns/user`));
      expect(mntNs).toBe(readlinkSync(`/proc/${initPid}/ns/mnt`));
      expect(statSync(join(rootfs, "tmp/by-exec"))).toMatchObject({ uid: BASE, gid: BASE });
      // The exit status passes through.
      expect(sb.run(["exec", id, "sh", "-c", "exit 7"]).code).toBe(7);

      expect(sb.ok(["exec", "--user", "1000", id, "sh", "-c", "id -u; id -g"])).toBe("1000\n0\n");
      expect(sb.ok(["exec", "--user", "1000:1000", id, "id", "-u"])).toBe("1000\n");

      // Detached: the process lives on, with the mapped credentials as the host sees them.
      const pidFile = join(sb.dir, `${id}.pid`);
      sb.ok(["exec", "-d", "--pid-file", pidFile, id, "sleep", "30"]);
      const pid = Number(readFileSync(pidFile, "utf8"));
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      expect(status).toMatch(new RegExp(`^Uid:\\s+${BASE}\\s+${BASE}\\s+${BASE}\\s+${BASE}$`, "m"));
      expect(readlinkSync(`/proc/${pid}/ns/user`)).toBe(readlinkSync(`/proc/${initPid}/ns/user`));
      expect(readlinkSync(`/proc/${pid}/ns/mnt`)).toBe(readlinkSync(`/proc/${initPid}/ns/mnt`));
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  test.skipIf(!Bun.which("script"))("exec --tty into a user-namespace container: a controlling terminal that is the process user's inside (as runc)", async () => {
    const id = "uexect" + Math.random().toString(36).slice(2, 6);
    const b = await usernsBundle(id, ["sleep", "60"]);
    sb.ok(["run", "-d", "-b", b, id]);
    try {
      const tty = (user: string[]) => {
        const cmd = [...BUNC, "--root", sb.root, "exec", "-t", ...user, id, "sh", "-c", "'id -u; test -t 0 && tty; stat -c %u:%g $(tty); cat /proc/self/uid_map'"].join(" ");
        const p = Bun.spawnSync(["script", "-qec", `${cmd}; echo "EXIT=$?"`, "/dev/null"], { stdin: "ignore", timeout: 30_000 });
        // script's own stdin at EOF may echo as ^@ anywhere in the output (runc's too).
        return p.stdout.toString().replace(/\r|\^@/g, "");
      };
      const root = tty([]);
      expect(root).toContain("EXIT=0");
      expect(root).toMatch(/^0\n\/dev\/pts\/\d+\n0:5\n/m);
      expect(root.replace(/\s+/g, " ")).toContain(` ${CONTAINER_MAP} `);
      const user = tty(["--user", "1000"]);
      expect(user).toContain("EXIT=0");
      expect(user).toMatch(/^1000\n\/dev\/pts\/\d+\n1000:5\n/m);
    } finally {
      sb.run(["delete", "--force", id]);
    }
  });

  test("a user namespace given by path: create joins it, exec joins it as its root", async () => {
    const owner = "uowner" + Math.random().toString(36).slice(2, 6), joined = "ujoined" + Math.random().toString(36).slice(2, 6);
    sb.ok(["run", "-d", "-b", await usernsBundle(owner, ["sleep", "60"]), owner]);
    try {
      const ownerPid = JSON.parse(sb.ok(["state", owner])).pid;
      const b = await usernsBundle(joined, ["sleep", "60"], (c) => {
        c.linux.namespaces = c.linux.namespaces.map((n: any) => (n.type === "user" ? { type: "user", path: `/proc/${ownerPid}/ns/user` } : n));
      });
      sb.ok(["run", "-d", "-b", b, joined]);
      const initPid = JSON.parse(sb.ok(["state", joined])).pid;
      expect(readlinkSync(`/proc/${initPid}/ns/user`)).toBe(readlinkSync(`/proc/${ownerPid}/ns/user`));
      const r = sb.run(["exec", joined, "sh", "-c", "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; readlink /proc/self/ns/mnt"]);
      expect(r.stderr).toBe("");
      const [uid, uidMap, userNs, mntNs] = r.stdout.trim().split("\n");
      expect(uid).toBe("0");
      expect(mapOf(uidMap!)).toEqual([CONTAINER_MAP]);
      expect(userNs).toBe(readlinkSync(`/proc/${ownerPid}/ns/user`));
      expect(mntNs).toBe(readlinkSync(`/proc/${initPid}/ns/mnt`));
      expect(mntNs).not.toBe(readlinkSync(`/proc/${ownerPid}/ns/mnt`));
    } finally {
      sb.run(["delete", "--force", joined]);
      sb.run(["delete", "--force", owner]);
    }
  });

  // runc's userns.bats "wrong userns owner": a network namespace the joined user namespace
  // does not own (here the host's) is joined before the user namespace, as runc's nsexec
  // does; from inside it, setns of it is EPERM. exec then joins both the same way.
  test("a user namespace by path with a network namespace it does not own (the host's)", async () => {
    const owner = "uowner" + Math.random().toString(36).slice(2, 6), joined = "ujoined" + Math.random().toString(36).slice(2, 6);
    sb.ok(["run", "-d", "-b", await usernsBundle(owner, ["sleep", "60"]), owner]);
    try {
      const ownerPid = JSON.parse(sb.ok(["state", owner])).pid;
      const hostNet = `/proc/${process.pid}/ns/net`;
      const b = await usernsBundle(joined, ["sleep", "60"], (c) => {
        c.linux.namespaces = c.linux.namespaces.map((n: any) =>
          n.type === "user" ? { type: "user", path: `/proc/${ownerPid}/ns/user` } : n.type === "network" ? { type: "network", path: hostNet } : n);
        delete c.linux.uidMappings;
        delete c.linux.gidMappings;
        // No sysfs of a network namespace the container's root has no rights in: the host's, bound.
        c.mounts = c.mounts.map((m: any) => (m.type === "sysfs" ? { source: "/sys", destination: m.destination, type: "bind", options: ["rbind"] } : m));
      });
      const r = sb.run(["run", "-d", "-b", b, joined]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      const initPid = JSON.parse(sb.ok(["state", joined])).pid;
      expect(readlinkSync(`/proc/${initPid}/ns/net`)).toBe(readlinkSync(hostNet));
      expect(readlinkSync(`/proc/${initPid}/ns/user`)).toBe(readlinkSync(`/proc/${ownerPid}/ns/user`));
      expect(sb.ok(["exec", joined, "readlink", "/proc/self/ns/net"]).trim()).toBe(readlinkSync(hostNet));
    } finally {
      sb.run(["delete", "--force", joined]);
      sb.run(["delete", "--force", owner]);
    }
  });

  test("many user-namespace starts in a row all finish (no libc set*id in the native stages)", async () => {
    const b = await usernsBundle("many-userns", ["true"]);
    for (let i = 0; i < 60; i++) {
      const id = `mu${i}-` + Math.random().toString(36).slice(2, 6);
      const r = sb.run(["run", "-b", b, id], { timeout: 20_000 });
      if (r.code !== 0) sb.run(["delete", "--force", id]);
      expect({ i, code: r.code, stderr: r.stderr }).toEqual({ i, code: 0, stderr: "" });
    }
  });
  test("a bind source the container's root cannot reach is opened on the host (before a cgroup mount too)", async () => {
    const priv = join(sb.dir, "root-only");
    // The source itself is open to all; its parent only to the host's root.
    require("node:fs").mkdirSync(join(priv, "src"), { recursive: true });
    chmodSync(join(priv, "src"), 0o755);
    chmodSync(priv, 0o700);
    require("node:fs").writeFileSync(join(priv, "src", "f"), "secret-ok\n");
    const b = await usernsBundle("uprivbind", ["cat", "/data/f"], (c) => {
      // First in the list, before /sys/fs/cgroup and the rest.
      c.mounts.unshift({ destination: "/data", type: "bind", source: join(priv, "src"), options: ["rbind", "ro"] });
    });
    const r = sb.run(["run", "-b", b, "uprivbind"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("secret-ok\n");
  });

  // runc's run and exec in the foreground without a terminal give the process pipes owned by
  // the container's root (setupProcessPipes) and copy them: the caller's own pipes or files
  // are the host root's, which a process in the user namespace cannot open again, and
  // programs write to /dev/stdout by name (nginx's access_log, `echo > /dev/stderr`).
  test("run and exec in the foreground: /dev/stdin, /dev/stdout and /dev/stderr can be opened again", async () => {
    const script = "echo out > /dev/stdout; echo err > /dev/stderr; cat /dev/stdin";
    const b = await usernsBundle("ustdio", ["sh", "-c", script]);
    const r = sb.run(["run", "-b", b, "ustdio"], { stdin: "in\n" });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "out\nin\n", stderr: "err\n" });
    const d = await usernsBundle("ustdio-d", ["sleep", "30"]);
    sb.ok(["run", "-d", "-b", d, "ustdio-d"]);
    try {
      const e = sb.run(["exec", "ustdio-d", "sh", "-c", script], { stdin: "in\n" });
      expect({ code: e.code, stdout: e.stdout, stderr: e.stderr }).toEqual({ code: 0, stdout: "out\nin\n", stderr: "err\n" });
      // The exit status still passes through; a detached exec keeps the caller's fds (runc's too).
      expect(sb.run(["exec", "ustdio-d", "sh", "-c", "exit 3"]).code).toBe(3);
    } finally {
      sb.run(["delete", "-f", "ustdio-d"]);
    }
  });

  // runc's init mounts /dev/pts and /dev/mqueue as the container's root: their roots are its.
  // bunc's host setup mounts them from the host side, where they would be the host root's
  // (nobody inside); the Bun init mounts them inside, but cannot take the mqueue the clone
  // made as the host's root (left as it is there).
  for (const [how, env, mqueue] of [["bunc sets up the rootfs", {}, "0:0"], ["the Bun init", { BUNC_HOST_SETUP: "0" }, "65534:65534"]] as const)
    test(`/dev/pts and /dev/mqueue belong to the container's root (${how})`, async () => {
      const id = `uown-${mqueue.length}`;
      const b = await usernsBundle(id, ["stat", "-c", "%n %u:%g", "/dev/pts", "/dev/shm", "/dev/mqueue"]);
      const r = sb.run(["run", "-b", b, id], { env });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`/dev/pts 0:0\n/dev/shm 0:0\n/dev/mqueue ${mqueue}\n`);
    });

  // A bind mount's source flags are locked in a user namespace (the kernel's
  // can_change_locked_flags): as runc 1.3, a request that would change them is a clear error,
  // not an EPERM from a remount, nor a mount silently left with the flags it asked to clear.
  test("a bind mount cannot change the source's locked flags in a user namespace: a clear error", async () => {
    const f = join(sb.dir, "locked-src");
    require("node:fs").writeFileSync(f, "x");
    // Mount points of their own: the rootfs is shared with the other tests here.
    const bind = async (id: string, opts: string[], source = f, at = "/locked-file") => usernsBundle(id, ["cat", at], (c) => c.mounts.push({ destination: at, type: "bind", source, options: ["bind", ...opts] }));
    expect(sb.ok(["run", "-b", await bind("ulockok", ["relatime", "nosuid"]), "ulockok"])).toBe("x"); // the source's own atime: fine
    for (const opt of ["strictatime", "noatime", "nodiratime"]) {
      const r = sb.run(["run", "-b", await bind(`ulock${opt}`, [opt]), `ulock${opt}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`bunc: mounts[7] (/locked-file): cannot change the source mount's locked atime flags (relatime) to ${opt} in a user namespace\n`);
    }
    // A read-only source asked for rw.
    const ro = join(sb.dir, "locked-ro");
    require("node:fs").mkdirSync(ro, { recursive: true });
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", ro]).exitCode).toBe(0);
    try {
      const r = sb.run(["run", "-b", await bind("ulockrw", ["rw"], ro, "/locked-dir"), "ulockrw"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe("bunc: mounts[7] (/locked-dir): cannot clear the source mount's locked flags (ro) in a user namespace\n");
    } finally {
      Bun.spawnSync(["umount", ro]);
    }
  });

  test("an idmap bind mount without mappings uses the container's: a root-owned source is root's inside", async () => {
    const src = join(sb.dir, "idmap-src");
    require("node:fs").mkdirSync(src, { recursive: true });
    require("node:fs").writeFileSync(join(src, "f"), "x");
    const plain = await usernsBundle("uplain", ["stat", "-c", "%u", "/data/f"], (c) => c.mounts.push({ destination: "/data", type: "bind", source: src, options: ["bind"] }));
    expect(sb.ok(["run", "-b", plain, "uplain"])).toBe("65534\n"); // unmapped without idmap
    const b = await usernsBundle("uidmap", ["stat", "-c", "%u", "/data/f"], (c) => c.mounts.push({ destination: "/data", type: "bind", source: src, options: ["bind", "idmap"] }));
    expect(sb.ok(["run", "-b", b, "uidmap"])).toBe("0\n");
  });

  test.skipIf(Bun.spawnSync(["python3", "-c", "import socket; socket.recv_fds"]).exitCode !== 0)("a console socket in a directory the container's root cannot enter (connected on the host side)", async () => {
    const dir = join(sb.dir, "private");
    require("node:fs").mkdirSync(dir, { mode: 0o700 });
    const sock = join(dir, "console.sock");
    const recv = Bun.spawn(["python3", "-c", RECEIVER, sock], { stdout: "pipe" });
    try {
      for (let i = 0; i < 500 && !require("node:fs").existsSync(sock); i++) Bun.sleepSync(10);
      const b = await usernsBundle("uconsole", ["sh", "-c", "tty; id -u"], (c) => (c.process.terminal = true));
      sb.ok(["create", "-b", b, "--console-socket", sock, "uconsole"]);
      sb.ok(["start", "uconsole"]);
      const out = (await new Response(recv.stdout).text()).replace(/\r/g, "");
      expect(out).toContain("/dev/pts/0\n0\n");
    } finally {
      recv.kill(9);
      sb.run(["delete", "-f", "uconsole"]);
    }
  });
});

test("the native stages call no libc function that waits for the threads of bunc", () => {
  const source = require("node:fs").readFileSync(join(import.meta.dir, "../../src/sys/nsexec.c"), "utf8");
  for (const fn of ["setgroups", "setresuid", "setresgid", "setuid", "setgid", "malloc", "printf"])
    expect(source).not.toMatch(new RegExp(`\\b${fn}\\s*\\(`));
});
