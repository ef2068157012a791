// The container's filesystem (needs root): mounts in order with their options, bind,
// rbind and propagation, destinations through symlinks that must stay in the rootfs,
// root.readonly, --no-pivot, rootfsPropagation, masked and read-only paths, /dev and
// linux.devices, linux.sysctl.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRoot, mountsUnder, fileSandbox } from "../support/harness";

const sb = fileSandbox();

/** `key rest...` lines printed by a container. */
function lines(out: string): Record<string, string> {
  return Object.fromEntries(out.trim().split("\n").map((l) => [l.split(" ")[0]!, l.slice(l.indexOf(" ") + 1).trim()]));
}

function runOk(args: string[]): Record<string, string> {
  const r = sb.run(args);
  if (r.code !== 0) throw new Error(`bunc ${args.join(" ")} exited ${r.code}: ${r.stderr}\n${r.stdout}`);
  return lines(r.stdout);
}

const mountinfo = (dest: string) => `grep ' ${dest} ' /proc/self/mountinfo | head -1`;

describe.skipIf(!isRoot)("rootfs (root)", () => {
  test("mounts in order with options: tmpfs, ro bind, file bind, bind vs rbind, nosuid/noexec, propagation", async () => {
    const hostro = join(sb.dir, "hostro"), hostfile = join(sb.dir, "hostfile.txt"), rb = join(sb.dir, "rb");
    mkdirSync(hostro);
    writeFileSync(join(hostro, "hello"), "from-host");
    writeFileSync(hostfile, "file-content");
    mkdirSync(join(rb, "sub"), { recursive: true });
    const sub = Bun.spawnSync(["mount", "-t", "tmpfs", "tmpfs", join(rb, "sub")]);
    expect(sub.exitCode).toBe(0);
    try {
      writeFileSync(join(rb, "sub/marker"), "submount");
      const script = [
        `echo order $(grep -c ' /o/inner ' /proc/self/mountinfo)`,
        `echo tmode $(stat -c %a /t)`,
        `echo tline $(${mountinfo("/t")})`,
        `echo roread $(cat /hostro/hello)`,
        `echo rowrite $(touch /hostro/new 2>&1 && echo ok)`,
        `echo roline $(${mountinfo("/hostro")})`,
        `echo file $(cat /etc/bound.txt)`,
        `echo rb $(cat /rb/sub/marker 2>&1)`,
        `echo nb $(ls -A /nb/sub | wc -l)`,
        `echo shared $(${mountinfo("/pshared")})`,
        `echo unbind $(${mountinfo("/punbind")})`,
        `echo noexec $(cp /bin/busybox /t/bb; /t/bb true 2>&1; echo rc=$?)`,
      ].join("; ");
      const b = await sb.bundle("mnt", ["sh", "-c", script], (c) => {
        c.mounts.push(
          { destination: "/o", type: "tmpfs", source: "tmpfs" },
          { destination: "/o/inner", type: "tmpfs", source: "tmpfs" },
          { destination: "/t", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "nodev", "size=1m", "mode=1750"] },
          { destination: "/hostro", type: "bind", source: hostro, options: ["bind", "ro"] },
          { destination: "/etc/bound.txt", type: "none", source: hostfile, options: ["bind", "ro"] },
          { destination: "/rb", type: "none", source: rb, options: ["rbind"] },
          { destination: "/nb", type: "none", source: rb, options: ["bind"] },
          { destination: "/pshared", type: "tmpfs", source: "tmpfs", options: ["shared"] },
          { destination: "/punbind", type: "tmpfs", source: "tmpfs", options: ["unbindable"] },
        );
      });
      const out = runOk(["run", "-b", b, "mnt"]);
      expect(out.order).toBe("1"); // /o first, then /o/inner on top of it
      expect(out.tmode).toBe("1750");
      expect(out.tline).toMatch(/ \/t rw,nosuid,nodev,noexec[, ].* - tmpfs tmpfs rw,size=1024k,mode=1750/);
      expect(out.roread).toBe("from-host");
      expect(out.rowrite).toContain("Read-only file system");
      expect(out.roline).toMatch(/ \/hostro ro[, ]/);
      expect(existsSync(join(hostro, "new"))).toBe(false);
      expect(out.file).toBe("file-content");
      expect(out.rb).toBe("submount");
      expect(out.nb).toBe("0");
      expect(out.shared).toMatch(/ shared:\d+ /);
      expect(out.unbind).toMatch(/ unbindable /);
      expect(out.noexec).toContain("Permission denied");
      expect(out.noexec).not.toContain("rc=0");
    } finally {
      Bun.spawnSync(["umount", join(rb, "sub")]);
    }
  });

  test("symlinks in the rootfs never lead out: a mount on rootfs/evil -> host dir stays inside; proc over a symlink is refused", async () => {
    const hostdir = join(sb.dir, "hostdir"), hostdir2 = join(sb.dir, "hostdir2");
    mkdirSync(hostdir);
    mkdirSync(hostdir2);
    const b = await sb.bundle("evil", ["sh", "-c", "echo inside > /evil/x && cat /evil/x && touch /rwtest"], (c) => {
      c.mounts.push({ destination: "/evil", type: "tmpfs", source: "tmpfs" });
      c.mounts.push({ destination: "/evil2/sub", type: "tmpfs", source: "tmpfs" });
    }, true);
    symlinkSync(hostdir, join(b, "rootfs/evil"));
    symlinkSync(`../../../../../../..${hostdir2}`, join(b, "rootfs/evil2"));
    const r = sb.run(["run", "-b", b, "evil"]);
    expect(r).toMatchObject({ code: 0, stdout: "inside\n" });
    expect(readdirSync(hostdir)).toEqual([]);
    expect(readdirSync(hostdir2)).toEqual([]);
    expect(existsSync(join(b, "rootfs/rwtest"))).toBe(true); // root.readonly false: writable
    // The mount points were made inside the rootfs.
    expect(existsSync(join(b, "rootfs", hostdir))).toBe(true);
    expect(existsSync(join(b, "rootfs", hostdir2, "sub"))).toBe(true);

    symlinkSync("/tmp", join(b, "rootfs/myproc"));
    const p = await sb.bundle("procsym", ["true"], (c) => {
      c.root = { path: join(b, "rootfs"), readonly: false };
      c.mounts.push({ destination: "/myproc", type: "proc", source: "proc" });
    });
    const r2 = sb.run(["create", "-b", p, "procsym"]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("/myproc");
    expect(r2.stderr).toContain("symlink");
    expect(sb.containers()).toEqual([]);
    expect(mountsUnder(sb.dir)).toEqual([]);
  });

  test("root.readonly: the root cannot be written", async () => {
    const b = await sb.bundle("rootro", ["sh", "-c", "touch /x 2>&1; echo line $(grep ' / ' /proc/self/mountinfo | head -1)"], (c) => (c.root.readonly = true));
    const r = sb.run(["run", "-b", b, "rootro"]);
    expect(r.stdout).toContain("Read-only file system");
    expect(lines(r.stdout).line).toMatch(/ \/ ro[, ]/);
  });

  test("--no-pivot and rootfsPropagation", async () => {
    const b = await sb.bundle("nopivot", ["sh", "-c", "echo rel $(cat /etc/alpine-release); echo work $(ls /work 2>&1 | head -1); echo root $(grep ' / ' /proc/self/mountinfo | head -1)"]);
    const np = runOk(["run", "--no-pivot", "-b", b, "nopivot"]);
    expect(np.rel).toMatch(/^3\.\d+/);
    expect(np.work).toContain("No such file");
    expect(np.root).not.toMatch(/shared:/);
    const s = await sb.bundle("rshared", ["sh", "-c", "echo root $(grep ' / ' /proc/self/mountinfo | head -1)"], (c) => (c.linux.rootfsPropagation = "shared"));
    expect(runOk(["run", "-b", s, "rshared"]).root).toMatch(/ shared:\d+ /);
  });

  test("maskedPaths and readonlyPaths", async () => {
    const script = [
      "echo timer_list $(wc -c < /proc/timer_list)",
      "echo keys $(wc -c < /proc/keys)",
      "echo apk $(ls -A /etc/apk | wc -l)",
      "echo apkw $(touch /etc/apk/x 2>&1)",
      "echo sysw $( (echo x > /proc/sys/kernel/domainname) 2>&1)",
      "echo ww $(touch /w/f 2>&1)",
      "echo wline $(grep ' /w ' /proc/self/mountinfo | tail -1)",
    ].join("; ");
    const b = await sb.bundle("masks", ["sh", "-c", script], (c) => {
      c.mounts.push({ destination: "/w", type: "tmpfs", source: "tmpfs" });
      c.linux.maskedPaths.push("/etc/apk", "/does/not/exist");
      c.linux.readonlyPaths.push("/w", "/not/there");
    });
    const out = runOk(["run", "-b", b, "masks"]);
    expect(out.timer_list).toBe("0");
    expect(out.keys).toBe("0");
    expect(out.apk).toBe("0");
    expect(out.apkw).toContain("Read-only file system");
    expect(out.sysw).toContain("Read-only file system");
    expect(out.ww).toContain("Read-only file system");
    expect(out.wline).toMatch(/ \/w ro,nosuid,nodev,noexec/);
  });

  test("/dev: default nodes and symlinks, linux.devices with mode and owner", async () => {
    const nodes = ["null", "zero", "full", "random", "urandom", "tty"].map((d) => `/dev/${d}`).join(" ");
    const script = [
      `for d in ${nodes} /dev/mynull; do echo $d $(stat -c '%F %t:%T %a %u:%g' $d); done`,
      `for l in ptmx fd stdin stdout stderr; do echo /dev/$l $(readlink /dev/$l); done`,
      "echo pts $(stat -c %F /dev/pts) shm $(stat -c %F /dev/shm)",
      "echo write $(echo x > /dev/mynull && echo ok)",
      "echo zero $(head -c 4 /dev/zero | od -An -tx1 | tr -d ' ')",
    ].join("; ");
    const b = await sb.bundle("dev", ["sh", "-c", script], (c) => {
      c.linux.devices = [{ type: "c", path: "/dev/mynull", major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 1001 }];
      // Root needs DAC_OVERRIDE to write a node owned by 1000 with mode 0640.
      for (const set of ["bounding", "effective", "permitted"]) c.process.capabilities[set].push("CAP_DAC_OVERRIDE");
    });
    const out = runOk(["run", "-b", b, "dev"]);
    const want: Record<string, string> = { null: "1:3", zero: "1:5", full: "1:7", random: "1:8", urandom: "1:9", tty: "5:0" };
    for (const [d, n] of Object.entries(want)) expect(out[`/dev/${d}`]).toBe(`character special file ${n} 666 0:0`);
    expect(out["/dev/mynull"]).toBe("character special file 1:3 640 1000:1001");
    expect(out["/dev/ptmx"]).toBe("pts/ptmx");
    expect(out["/dev/fd"]).toBe("/proc/self/fd");
    expect(out["/dev/stdin"]).toBe("/proc/self/fd/0");
    expect(out["/dev/stdout"]).toBe("/proc/self/fd/1");
    expect(out["/dev/stderr"]).toBe("/proc/self/fd/2");
    expect(out.pts).toBe("directory shm directory");
    expect(out.write).toBe("ok");
    expect(out.zero).toBe("00000000");
  });

  test("linux.sysctl is set inside the container's namespaces only", async () => {
    await sysctlTest(false);
  });

  test("linux.sysctl with the default readonlyPaths (/proc/sys read-only)", async () => {
    await sysctlTest(true);
  });
});

async function sysctlTest(defaultReadonly: boolean) {
  const hostFwd = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
  const hostShm = readFileSync("/proc/sys/kernel/shmmax", "utf8");
  const id = defaultReadonly ? "sysctl-ro" : "sysctl";
  const b = await sb.bundle(id, ["sh", "-c", "echo fwd $(cat /proc/sys/net/ipv4/ip_forward); echo shm $(cat /proc/sys/kernel/shmmax)"], (c) => {
    if (!defaultReadonly) c.linux.readonlyPaths = c.linux.readonlyPaths.filter((p: string) => p !== "/proc/sys");
    c.linux.sysctl = { "net.ipv4.ip_forward": hostFwd.trim() === "1" ? "0" : "1", "kernel/shmmax": "123456789" };
  });
  const out = runOk(["run", "-b", b, id]);
  expect(out.fwd).toBe(hostFwd.trim() === "1" ? "0" : "1");
  expect(out.shm).toBe("123456789");
  expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostFwd);
  expect(readFileSync("/proc/sys/kernel/shmmax", "utf8")).toBe(hostShm);
}
