// Needs root. Mounts as runc and crun: a read-only /dev still gets its nodes, the recursive
// r* options (rro, rnosuid, ...) apply to submounts too, an unknown bind option is an error,
// and a missing process.cwd is created, also under a read-only root.
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUNC, fileSandbox, isRoot } from "../support/harness";

const sb = fileSandbox();
const uid = () => "mt" + Math.random().toString(36).slice(2, 7);

describe.skipIf(!isRoot)("mounts as runc (root)", () => {
  test("/dev mounted ro: nodes and /dev/pts are made first, then it is read-only", async () => {
    const b = await sb.bundle(uid(), ["sh", "-c", "echo x > /dev/null && ls /dev/pts/ptmx >/dev/null && echo nodes-ok; touch /dev/new 2>&1 || true"], (c) => {
      const dev = c.mounts.find((m: any) => m.destination === "/dev");
      dev.options = [...dev.options, "ro"];
    });
    const r = sb.run(["run", "-b", b, uid()]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("nodes-ok\n");
    expect(r.stdout).toContain("Read-only file system");
  });

  test("rro makes a bind mount and the mounts below it read-only", async () => {
    const src = join(sb.dir, `rro-${uid()}`);
    const sub = join(src, "sub");
    mkdirSync(sub, { recursive: true });
    // A submount below the source: a plain "ro" would leave it writable.
    const mnt = Bun.spawnSync(["mount", "-t", "tmpfs", "tmpfs", sub]);
    expect(mnt.exitCode).toBe(0);
    try {
      const b = await sb.bundle(uid(), ["sh", "-c", "touch /data/a 2>&1; touch /data/sub/b 2>&1; echo end"], (c) => {
        c.mounts.push({ destination: "/data", type: "bind", source: src, options: ["rbind", "rro"] });
      });
      const r = sb.run(["run", "-b", b, uid()]);
      expect(r.stderr).toBe("");
      expect(r.stdout.match(/Read-only file system/g)?.length).toBe(2);
    } finally {
      Bun.spawnSync(["umount", sub]);
    }
  });

  // runc 1.3 remounts a bind mount whose options only clear flags ("rw", "suid", ...): "rw"
  // of a read-only bind mount (its own flag, the filesystem writable) makes the copy writable.
  test("a bind mount's clearing options apply: rw of a read-only bind mount is writable", async () => {
    const src = join(sb.dir, `robind-${uid()}`);
    mkdirSync(src, { recursive: true });
    expect(Bun.spawnSync(["mount", "--bind", src, src]).exitCode).toBe(0);
    try {
      expect(Bun.spawnSync(["mount", "-o", "remount,bind,ro", src]).exitCode).toBe(0);
      const b = await sb.bundle(uid(), ["sh", "-c", "touch /data/rw/made && touch /data/ro/made 2>&1; echo end"], (c) => {
        c.mounts.push({ destination: "/data/rw", type: "bind", source: src, options: ["bind", "rw"] });
        c.mounts.push({ destination: "/data/ro", type: "bind", source: src, options: ["bind"] });
      });
      const r = sb.run(["run", "-b", b, uid()]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("touch: /data/ro/made: Read-only file system\nend\n");
      expect(existsSync(join(src, "made"))).toBe(true);
    } finally {
      Bun.spawnSync(["umount", src]);
    }
  });

  test("an unknown option on a bind mount is an error naming the mount", async () => {
    const id = uid();
    const b = await sb.bundle(id, ["true"], (c) => {
      c.mounts.push({ destination: "/data", type: "bind", source: "/tmp", options: ["rbind", "rrro"] });
    });
    const r = sb.run(["create", "-b", b, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown mount option "rrro"');
    expect(sb.containers()).toEqual([]);
  });

  // runc's run.bats (its issues 3911, 3952): a tmpfs takes the mode of the directory it is
  // mounted on, set-id and sticky bits included; a mode= option still wins.
  for (const [how, env] of [["bunc sets up the rootfs", {}], ["the Bun init sets up the rootfs", { BUNC_HOST_SETUP: "0" }]] as const) {
    test(`a tmpfs takes its mountpoint's mode unless mode= is given (${how})`, async () => {
      const b = await sb.bundle(uid(), ["sh", "-c", "stat -c %a /tmp /mnt/given /mnt/existing /mnt/fresh /mnt/fresh-given"], (c) => {
        const tmpfs = (destination: string, options: string[] = []) => ({ destination, type: "tmpfs", source: "tmpfs", options });
        c.mounts.push(tmpfs("/tmp", ["noexec", "nosuid", "nodev"]), tmpfs("/mnt/given", ["mode=0410"]), tmpfs("/mnt/existing"),
          tmpfs("/mnt/fresh"), tmpfs("/mnt/fresh-given", ["mode=0444"]));
      }, true);
      const rootfs = join(b, "rootfs");
      for (const d of ["mnt/given", "mnt/existing"]) mkdirSync(join(rootfs, d), { recursive: true });
      chmodSync(join(rootfs, "tmp"), 0o7777);
      chmodSync(join(rootfs, "mnt/given"), 0o700);
      chmodSync(join(rootfs, "mnt/existing"), 0o710);
      const r = sb.run(["run", "-b", b, uid()], { env });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("7777\n410\n710\n755\n444\n");
      expect(sb.containers()).toEqual([]);
    });
  }

  // tmpcopyup (podman's --tmpfs default; runc's mounts.bats): the tmpfs starts with a copy of
  // the directory it covers, owners, modes, times, symlinks and fifos included; writes go to
  // the tmpfs, not the rootfs. A read-only one is read-only once the copy is in.
  for (const [how, env] of [["bunc sets up the rootfs", {}], ["the Bun init sets up the rootfs", { BUNC_HOST_SETUP: "0" }]] as const)
  test(`tmpcopyup copies the covered directory into the tmpfs (${how})`, async () => {
    // Name, mode, owner and mtime, as busybox's stat and GNU's both print them.
    const STAT = "stat -c '%n %a %u %g %Y' f l p sub sub/g";
    const script = [
      `cd /srv/app && ${STAT}`,
      "cat f sub/g; readlink l; test -p p && echo fifo; test -L l && echo link; test -d sub && echo dir",
      "echo new > n && cat n; touch /srv/ro/x 2>&1; cat /srv/ro/kept",
    ].join("; ");
    const b = await sb.bundle(uid(), ["sh", "-c", script], (c) => {
      c.mounts.push({ destination: "/srv/app", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "nosuid"] },
        { destination: "/srv/ro", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "ro"] });
    }, true);
    const app = join(b, "rootfs/srv/app");
    mkdirSync(join(app, "sub"), { recursive: true });
    mkdirSync(join(b, "rootfs/srv/ro"), { recursive: true });
    writeFileSync(join(b, "rootfs/srv/ro/kept"), "kept\n");
    writeFileSync(join(app, "f"), "file\n");
    writeFileSync(join(app, "sub/g"), "deep\n");
    symlinkSync("/etc/passwd", join(app, "l"));
    expect(Bun.spawnSync(["mkfifo", join(app, "p")]).exitCode).toBe(0);
    chmodSync(join(app, "f"), 0o604); // root in the container has no CAP_DAC_OVERRIDE
    chownSync(join(app, "f"), 1000, 1001);
    chmodSync(join(app, "sub"), 0o2755);
    chownSync(join(app, "sub"), 1002, 1003);
    utimesSync(join(app, "f"), new Date("2020-01-02T03:04:05Z"), new Date("2020-01-02T03:04:05Z"));
    const hostLs = Bun.spawnSync(["sh", "-c", `cd ${app} && ${STAT}`]).stdout.toString();
    const r = sb.run(["run", "-b", b, uid()], { env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(hostLs);
    expect(r.stdout).toStartWith("f 604 1000 1001 1577934245\n");
    expect(r.stdout.slice(hostLs.length)).toBe("file\ndeep\n/etc/passwd\nfifo\nlink\ndir\nnew\ntouch: /srv/ro/x: Read-only file system\nkept\n");
    expect(existsSync(join(app, "n"))).toBe(false); // written to the tmpfs, not the rootfs
  });

  test("features lists the recursive options", () => {
    const f = JSON.parse(Bun.spawnSync([...BUNC, "features"]).stdout.toString());
    for (const o of ["rro", "rnosuid", "rnodev", "rnoexec", "rnoatime", "rrelatime", "rnosymfollow"]) expect(f.mountOptions).toContain(o);
  });

  test("a missing process.cwd is created, also under a read-only root", async () => {
    for (const readonly of [false, true]) {
      const b = await sb.bundle(uid(), ["pwd"], (c) => {
        c.process.cwd = "/work/here";
        c.root.readonly = readonly;
      }, true);
      const r = sb.run(["run", "-b", b, uid()]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("/work/here\n");
    }
  });

  // An unprivileged user in the container maps itself to root in a nested user namespace
  // and tries a fresh proc: the kernel allows it only while a full proc is in the mount
  // namespace, which --no-pivot left reachable (the host's) before the fix.
  test("--no-pivot: a nested user namespace cannot mount a fresh proc", async () => {
    const b = await sb.bundle(uid(), ["sh", "-c", "mkdir -p /tmp/p; unshare -Urmpf mount -t proc proc /tmp/p 2>/dev/null && echo MOUNTED || echo REFUSED"], (c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["mode=1777"] });
    });
    const r = sb.run(["run", "--no-pivot", "-b", b, uid()]);
    expect(r.stdout).toBe("REFUSED\n");
  });
});
