#!/usr/bin/env bun
// Builds the Debian guests the tests boot under QEMU (issue 21): a disk image, its kernel and
// initrd per suite, from Debian's archive (the mirror apt uses on this machine), cached under
// /var/cache/bunc-guests/<suite>-<hash>, where the hash covers the package list and this file;
// a change to either rebuilds, nothing else does. A build goes into a temporary folder renamed
// into place when whole; the older images of that suite are then removed.
//
//   bun scripts/guests/build.ts [bookworm|trixie ...]    (root; prints the image folders)
//
// Test tooling, not bunc: it shells out to debootstrap, chroot and mkfs.ext4.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collect, machineArgs, Qmp, READY } from "./machine";

export const SUITES = ["bookworm", "trixie", "bullseye", "bookworm-selinux"] as const;
export type Suite = (typeof SUITES)[number];

/** The Debian release a suite is made from: "bookworm-selinux" is Debian 12 booted with SELinux instead of AppArmor. */
export function debianRelease(suite: Suite): string {
  return suite.replace(/-selinux$/, "");
}

/** Kernel arguments a suite boots with besides the common ones: SELinux (permissive, Debian's policy) replaces AppArmor. */
export function bootArgs(suite: Suite): string {
  return suite.endsWith("-selinux") ? "security=selinux selinux=1" : "";
}

export const CACHE_DIR = process.env.BUNC_GUEST_CACHE ?? "/var/cache/bunc-guests";

/** What goes into every guest besides minbase: boot, the in-guest checks' tools, runc and podman to compare with. */
export const PACKAGES = [
  // boot: systemd as PID 1, a distribution kernel with its initramfs
  "systemd-sysv", "udev", "linux-image-amd64", "initramfs-tools", "kmod",
  // the checks' tools (util-linux and bsdutils' `script` are in minbase)
  "iproute2", "procps", "jq", "uidmap", "strace",
  // runtimes and engines a user of these hosts has; podman's container-network-stack is netavark
  "runc", "podman", "netavark",
  // Docker (the checks start dockerd themselves) and containerd's CRI with catatonit as the pause
  "docker.io", "containerd", "catatonit",
  // AppArmor's userspace (apparmor_parser; the engines load their default profiles with it) for the AppArmor checks
  "apparmor",
];

/** A suite's packages: trixie splits Docker's CLI out; bullseye (Debian 11, kernel 5.10) has no netavark and runs no engine checks. */
export function packagesFor(suite: Suite): string[] {
  // SELinux: Debian's reference policy and its tools, runc to compare labels with; no engines
  if (suite === "bookworm-selinux")
    return ["systemd-sysv", "udev", "linux-image-amd64", "initramfs-tools", "kmod", "procps", "jq", "strace", "runc",
      "selinux-policy-default", "selinux-utils", "policycoreutils"];
  if (suite === "bullseye") return PACKAGES.filter((p) => !["podman", "netavark", "docker.io", "containerd", "catatonit"].includes(p));
  if (suite === "trixie") return [...PACKAGES, "docker-cli"];
  return PACKAGES;
}

/** The systemd unit that runs the share's script at boot and powers off whatever happens. */
const UNIT = `[Unit]
Description=bunc guest checks
After=local-fs.target systemd-modules-load.service
Wants=systemd-modules-load.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/bunc-guest-run
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Install]
WantedBy=multi-user.target
`;

/**
 * Waits for the host's "go <epoch>" on the serial line, then mounts the 9p share at /share and
 * runs /share/run.sh with its output in /share/guest.log. The build saves the machine's state
 * while it waits (machine.ts), so every run restores a booted guest and answers at once; the
 * clock is set from the host's epoch (a restored guest's is the build's).
 */
const RUNNER = `#!/bin/sh
# the boot's other running jobs done first (the rest wait for this unit): the saved state is an idle machine
i=0
while [ $i -lt 240 ] && systemctl list-jobs --no-legend 2>/dev/null | awk '$2 != "bunc-guest.service" && $4 == "running" { found = 1 } END { exit !found }'; do
  sleep 0.5; i=$((i + 1))
done
sync
# the port open before the host is told: what it sends before is lost (the host sends again)
exec 3</dev/ttyS0
stty -echo <&3 2>/dev/null
echo "${READY}" >/dev/console
while read -r word now <&3; do [ "$word" = go ] && break; done
exec 3<&-
date -s "@$now" >/dev/null
modprobe 9pnet_virtio 2>/dev/null; modprobe 9p 2>/dev/null
mkdir -p /share
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 share /share || { echo "bunc-guest: 9p mount failed" >/dev/console; exit 1; }
echo "bunc-guest: running /share/run.sh" >/dev/console
# bounded inside too: the host kills QEMU at its own deadline, this one leaves the log whole
t=$(cat /share/timeout 2>/dev/null || echo 1200)
cd /share && timeout -k 10 "$t" /bin/bash /share/run.sh >/share/guest.log 2>&1
echo $? >/share/exit-code
sync
echo "bunc-guest: done (exit $(cat /share/exit-code))" >/dev/console
# off now: the results are on the share, the disk is a throwaway snapshot
systemctl poweroff --force --force
`;

/** The mirror apt uses here (deb822 .sources or one-line sources.list); $BUNC_GUEST_MIRROR overrides. */
export function debianMirror(): string {
  if (process.env.BUNC_GUEST_MIRROR) return process.env.BUNC_GUEST_MIRROR;
  const files: string[] = [];
  if (existsSync("/etc/apt/sources.list")) files.push("/etc/apt/sources.list");
  if (existsSync("/etc/apt/sources.list.d"))
    for (const f of readdirSync("/etc/apt/sources.list.d").sort())
      if (f.endsWith(".sources") || f.endsWith(".list")) files.push(join("/etc/apt/sources.list.d", f));
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/^\s*URIs:\s*(\S+)/gim)) if (isDebianMain(m[1]!)) return m[1]!;
    for (const m of text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)) if (isDebianMain(m[1]!)) return m[1]!;
  }
  return "http://deb.debian.org/debian";
}
function isDebianMain(uri: string): boolean {
  return /^https?:\/\//.test(uri) && /\/debian\/?$/.test(uri) && !/security/.test(uri);
}

/** The key of a suite's image: the suite, the packages, this file's text and the machine's (machine.ts). */
export function imageHash(suite: Suite): string {
  const self = readFileSync(import.meta.path, "utf8");
  const machine = readFileSync(join(import.meta.dir, "machine.ts"), "utf8");
  return createHash("sha256").update(JSON.stringify({ suite, PACKAGES: packagesFor(suite) })).update(self).update(machine).digest("hex").slice(0, 16);
}

export interface GuestImage {
  suite: Suite;
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  /** The booted machine's saved state (MACHINE), waiting for "go". */
  state: string;
}

function imageAt(suite: Suite, dir: string): GuestImage {
  return { suite, dir, disk: join(dir, "disk.img"), kernel: join(dir, "vmlinuz"), initrd: join(dir, "initrd.img"), state: join(dir, "vm.state") };
}

/** The cached image of a suite if it is current, else undefined. */
export function cachedImage(suite: Suite): GuestImage | undefined {
  const dir = join(CACHE_DIR, `${suite}-${imageHash(suite)}`);
  return existsSync(join(dir, "complete")) ? imageAt(suite, dir) : undefined;
}

async function run(cmd: string[], log: string[], opts: { timeoutMs?: number } = {}): Promise<void> {
  const t = performance.now();
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C" } });
  const timer = opts.timeoutMs ? setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs) : undefined;
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  const code = await p.exited;
  if (timer) clearTimeout(timer);
  log.push(`$ ${cmd.join(" ")}  (${((performance.now() - t) / 1000).toFixed(1)} s, exit ${code})`);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${code}):\n${(out + err).split("\n").slice(-40).join("\n")}`);
}

/** Writes a file into the guest tree. */
function put(tree: string, path: string, text: string, mode = 0o644) {
  const p = join(tree, path);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
}

/** Builds (or returns the cached) image of a suite. Root only. */
export async function buildImage(suite: Suite, opts: { log?: (line: string) => void } = {}): Promise<GuestImage> {
  const cached = cachedImage(suite);
  if (cached) return cached;
  const say = opts.log ?? ((l: string) => console.error(`[guest ${suite}] ${l}`));
  const hash = imageHash(suite);
  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = join(CACHE_DIR, `.tmp-${suite}-${process.pid}-${Date.now()}`);
  const tree = join(tmp, "tree");
  mkdirSync(tmp, { recursive: true });
  const log: string[] = [];
  const t0 = performance.now();
  try {
    // .debs stay between builds of a suite (a package-list change downloads only what is new)
    const debs = join(CACHE_DIR, `debs-${suite}`);
    mkdirSync(debs, { recursive: true });
    const mirror = debianMirror();
    say(`debootstrap ${suite} from ${mirror}`);
    await run(["debootstrap", "--variant=minbase", `--include=${packagesFor(suite).join(",")}`, `--cache-dir=${debs}`, debianRelease(suite), tree, mirror], log, { timeoutMs: 20 * 60_000 });
    say(`debootstrap done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

    put(tree, "etc/hostname", `bunc-${suite}\n`);
    put(tree, "etc/hosts", `127.0.0.1 localhost bunc-${suite}\n`);
    put(tree, "etc/fstab", "/dev/vda / ext4 rw,errors=remount-ro 0 1\n");
    put(tree, "etc/modules-load.d/bunc-guest.conf", "9pnet_virtio\n9p\n");
    put(tree, "etc/systemd/system/bunc-guest.service", UNIT);
    put(tree, "usr/local/sbin/bunc-guest-run", RUNNER, 0o755);
    put(tree, "etc/containers/registries.conf.d/bunc.conf", 'unqualified-search-registries = []\n');
    // permissive: labels are applied and checked, denials only logged (the files are not relabelled)
    if (bootArgs(suite).includes("selinux")) put(tree, "etc/selinux/config", "SELINUX=permissive\nSELINUXTYPE=default\n");
    mkdirSync(join(tree, "etc/systemd/system/multi-user.target.wants"), { recursive: true });
    await run(["ln", "-sf", "/etc/systemd/system/bunc-guest.service", join(tree, "etc/systemd/system/multi-user.target.wants/bunc-guest.service")], log);
    // nothing else at boot: no timers, no getty on the serial console
    for (const unit of ["apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer", "dpkg-db-backup.timer", "serial-getty@ttyS0.service", "getty@tty1.service", "systemd-timesyncd.service",
      // the engines' daemons: the checks start their own, with bunc as a runtime
      "docker.service", "docker.socket", "containerd.service",
      // trixie's gettys on tty2-6 (no logind here) and netavark's DHCP proxy: nothing uses them
      "getty-static.service", "netavark-dhcp-proxy.socket", "netavark-dhcp-proxy.service"])
      await run(["ln", "-sf", "/dev/null", join(tree, "etc/systemd/system", unit)], log);
    // a user for the rootless checks (useradd gives it /etc/subuid and /etc/subgid ranges)
    await run(["chroot", tree, "useradd", "-m", "-u", "1000", "-s", "/bin/bash", "tester"], log);
    await run(["chroot", tree, "passwd", "-d", "root"], log);
    rmSync(join(tree, "var/cache/apt/archives"), { recursive: true, force: true });
    mkdirSync(join(tree, "var/cache/apt/archives/partial"), { recursive: true });
    rmSync(join(tree, "var/lib/apt/lists"), { recursive: true, force: true });
    mkdirSync(join(tree, "var/lib/apt/lists/partial"), { recursive: true });

    const boot = readdirSync(join(tree, "boot"));
    const kernel = boot.find((f) => f.startsWith("vmlinuz-"));
    const initrd = boot.find((f) => f.startsWith("initrd.img-"));
    if (!kernel || !initrd) throw new Error(`no kernel or initrd in ${tree}/boot: ${boot.join(" ")}`);
    const out = imageAt(suite, tmp);
    copyFileSync(join(tree, "boot", kernel), out.kernel);
    copyFileSync(join(tree, "boot", initrd), out.initrd);
    writeFileSync(join(tmp, "kernel-version"), kernel.replace("vmlinuz-", "") + "\n");

    // the disk: the tree plus 3 GiB for what the checks write (a sparse file; QEMU's snapshot=on keeps it pristine)
    const used = Number((await Bun.$`du -sb ${tree}`.text()).split(/\s/)[0]);
    const size = Math.ceil((used * 1.2 + 3 * 2 ** 30) / 2 ** 20);
    await run(["truncate", "-s", `${size}M`, out.disk], log);
    await run(["mkfs.ext4", "-q", "-F", "-L", "bunc-guest", "-d", tree, out.disk], log);
    removeTree(tree);
    // the boot, done once here: runs restore this state instead of booting (trixie alone
    // compiles ~200 AppArmor profiles at boot, over a minute under TCG)
    say("boot to save");
    await saveBootedState(out, log);
    writeFileSync(join(tmp, "build.log"), log.join("\n") + "\n");
    writeFileSync(join(tmp, "complete"), `${new Date().toISOString()} ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);

    const dest = join(CACHE_DIR, `${suite}-${hash}`);
    try {
      renameSync(tmp, dest);
    } catch (e) {
      // another build of the same inputs won the race: use it
      if (!existsSync(join(dest, "complete"))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
    // keep only the current image of this suite
    // (exactly <suite>-<hash>: "bookworm-" also begins "bookworm-selinux-<hash>", another suite's)
    for (const f of readdirSync(CACHE_DIR))
      if (new RegExp(`^${suite}-[0-9a-f]{16}$`).test(f) && f !== `${suite}-${hash}`) rmSync(join(CACHE_DIR, f), { recursive: true, force: true });
    say(`image ready in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${dest}`);
    return imageAt(suite, dest);
  } catch (e) {
    removeTree(tmp);
    throw e;
  }
}

/** The kernel's command line for a suite (boot.ts adds to it). */
export function kernelCmdline(suite: Suite): string {
  // tsc=reliable: Debian 12's 6.1 marks the TSC of a TCG guest unstable (unsynchronized) and falls
  // back to the HPET, whose every read is an emulated MMIO access
  return `root=/dev/vda rw console=ttyS0 panic=-1 no_timer_check loglevel=4 systemd.show_status=auto mitigations=off tsc=reliable ${bootArgs(suite)}`.trim();
}

/**
 * Boots the fresh image once, writable, until the runner waits for "go", and saves the machine's
 * state to image.state (QEMU's migration to a file); its console goes to boot.log.
 */
async function saveBootedState(image: GuestImage, log: string[]): Promise<void> {
  const t = performance.now();
  const scratch = mkdtempSync(join(tmpdir(), `bunc-guest-save-${image.suite}-`));
  const qmpPath = join(scratch, "qmp.sock");
  const share = join(scratch, "share");
  mkdirSync(share);
  const p = Bun.spawn(machineArgs({ kernel: image.kernel, initrd: image.initrd, cmdline: kernelCmdline(image.suite), disk: image.disk, share, qmp: qmpPath, snapshot: false }),
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 10 * 60_000);
  let ready!: () => void;
  const booted = new Promise<void>((r) => (ready = r));
  const out = collect(p.stdout, (all) => all.includes(READY) && ready());
  const err = new Response(p.stderr).text();
  let saved = "";
  try {
    await Promise.race([booted, p.exited]);
    if (p.exitCode === null) {
      const qmp = await Qmp.open(qmpPath);
      try {
        // stopped first: its disk I/O drained and its memory still, the state is saved in one
        // consistent pass (a live migration of the idle guest once restored a guest whose
        // virtio-blk completion then oopsed on corrupted memory); a run continues it (`cont`)
        await qmp.command("stop");
        await qmp.command("migrate", { uri: `exec:cat > ${image.state}` });
        const r = await qmp.until("query-migrate", (m) => m.status === "completed" || m.status === "failed", 5 * 60_000);
        saved = r.status;
        await qmp.command("quit").catch(() => {});
      } finally {
        qmp.close();
      }
    }
  } finally {
    clearTimeout(timer);
    const code = await p.exited;
    const text = (await out) + ((await err) ? `\n[qemu stderr]\n${await err}` : "");
    writeFileSync(join(image.dir, "boot.log"), text);
    rmSync(scratch, { recursive: true, force: true });
    log.push(`boot and save (${((performance.now() - t) / 1000).toFixed(1)} s, QEMU exit ${code}, migration ${saved || "not started"})`);
    if (saved !== "completed" || !existsSync(image.state))
      throw new Error(`the boot of ${image.suite} to save did not end in a saved state (QEMU exit ${code}, migration ${saved || "not started"}):\n${text.split("\n").slice(-40).join("\n")}`);
  }
}

/** Mount points at or below dir (debootstrap mounts proc and sys in its target; a killed one leaves them). */
function mountsBelow(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(dir + "/")).sort((a, b) => b.length - a.length);
}

/** Removes a build folder, unmounting what is mounted below it first (never recurse into a proc or sys). */
function removeTree(dir: string) {
  for (const m of mountsBelow(dir)) Bun.spawnSync(["umount", "-l", m]);
  if (mountsBelow(dir).length) throw new Error(`mounts left below ${dir}: not removing it`);
  rmSync(dir, { recursive: true, force: true });
}

/** Removes leftover temporary builds (a killed build) older than an hour. */
export function cleanStaleBuilds() {
  if (!existsSync(CACHE_DIR)) return;
  for (const f of readdirSync(CACHE_DIR))
    if (f.startsWith(".tmp-")) {
      const p = join(CACHE_DIR, f);
      if (Date.now() - statSync(p).mtimeMs > 3600_000) removeTree(p);
    }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const suites = (args.length ? args : [...SUITES]) as Suite[];
  for (const s of suites) if (!SUITES.includes(s)) throw new Error(`unknown suite ${s}; one of ${SUITES.join(", ")}`);
  cleanStaleBuilds();
  const images = await Promise.all(suites.map((s) => buildImage(s)));
  for (const i of images) console.log(i.dir);
}
