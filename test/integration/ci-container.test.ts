// bunc inside a CI job's container: podman (runc as its runtime, as CI hosts run docker)
// starts an outer container from a minimal Debian image built here (the glibc libraries
// `ldd dist/bunc` lists plus a few Debian tools, a "distroless" tarball imported into
// podman), with the compiled bunc and the Alpine minirootfs bind-mounted read-only. Inside
// it, bunc runs inner Alpine containers: in a privileged outer container everything works
// (cgroup v1 through the outer's private cgroup namespace, and cgroup v2 where the outer's
// own cgroup holds processes); in an unprivileged one bunc goes as far as the kernel lets
// it and otherwise fails with one line saying what the outer container must allow.
//
// Each case is one shell script run by `podman run --rm` in the outer container; podman's
// storage is private and removed afterwards (Podman in test/support/engines.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { skipping } from "../support/host";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { BUNC_BINARY, engineSkipReason, Podman } from "../support/engines";
import { defaultSpec } from "../../src/spec/default";

const RUNC = Bun.which("runc", { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/bin:/sbin` }) ?? "/usr/sbin/runc";
const skipReason = engineSkipReason(["podman", "conmon", "runc"], ["podman", "conmon", "runc"]);
if (skipReason) console.warn(`ci-container tests skipped: ${skipReason}`);

/** Debian tools the outer image carries (besides bunc's libraries): a shell for the scripts. */
const TOOLS = ["sh", "sleep", "cat", "ls", "mkdir", "cp", "grep", "mount", "umount"];

/** The shared libraries `ldd` lists for a binary (the loader included). */
function sharedLibraries(binary: string): string[] {
  const r = Bun.spawnSync(["ldd", binary]);
  if (r.exitCode !== 0) throw new Error(`ldd ${binary}: ${r.stderr.toString()}`);
  return [...r.stdout.toString().matchAll(/(?:=> )?(\/\S+) \(0x/g)].map((m) => m[1]!);
}

/**
 * A minimal Debian image: the tools and every library they and bunc need, copied from this
 * Debian host (bunc itself is bind-mounted, so a rebuilt bunc needs no new image).
 */
function buildOuterImage(dir: string): string {
  const root = join(dir, "outer-rootfs");
  for (const d of ["bin", "etc", "proc", "sys", "dev", "run", "tmp", "var/tmp", "usr/local/bin"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  const which = (t: string) => Bun.which(t, { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" }) ?? `/bin/${t}`;
  const libs = new Set(sharedLibraries(BUNC_BINARY));
  for (const t of TOOLS) {
    cpSync(which(t), join(root, "bin", t), { dereference: true });
    for (const l of sharedLibraries(which(t))) libs.add(l);
  }
  for (const l of libs) {
    mkdirSync(join(root, dirname(l)), { recursive: true });
    cpSync(l, join(root, l), { dereference: true });
  }
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\n");
  const tar = `${root}.tar`;
  const t = Bun.spawnSync(["tar", "-C", root, "-cf", tar, "."]);
  if (t.exitCode !== 0) throw new Error(`tar: ${t.stderr.toString()}`);
  return tar;
}

const uid = () => "c" + Math.random().toString(36).slice(2, 8);

describe.skipIf(!!skipReason)("bunc inside a CI container (podman + runc, minimal Debian outer image)", () => {
  let pm: Podman;
  const image = "localhost/bunc-ci-outer:1";

  beforeAll(() => {
    pm = new Podman(RUNC);
    pm.ok(["import", buildOuterImage(pm.dir), image], { timeout: 120_000 });
  });

  afterAll(() => {
    if (!pm) return;
    expect(pm.cleanup()).toEqual([]);
  });

  /** Runs `script` in a new outer container with `flags`; `files` are mounted read-only under /ci. */
  function outer(flags: string[], script: string, files: Record<string, string> = {}) {
    const dir = join(pm.dir, `case-${uid()}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "script.sh"), script);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return pm.podman([
      "run", "--rm", ...pm.runFlags(), ...flags,
      "-v", `${BUNC_BINARY}:/usr/local/bin/bunc:ro`, "-v", `${alpineTarball()}:/alpine.tar.gz:ro`, "-v", `${dir}:/ci:ro`,
      "-e", "PATH=/usr/local/bin:/bin",
      image, "/bin/sh", "/ci/script.sh",
    ], { timeout: 180_000 });
  }

  /** Script lines that print what bunc left behind: state and cgroups. */
  const LEFTOVERS = `echo "state:$(ls -A /run/bunc 2>/dev/null)"; echo "cgroups:$(ls -d /sys/fs/cgroup/bunc /sys/fs/cgroup/*/bunc 2>/dev/null)"`;
  const lines = (s: string) => s.split("\n").filter(Boolean);

  test("privileged, private cgroup namespace: run --rootfs, and bundle, run -d, exec, update, delete", () => {
    const id = uid();
    const r = outer(["--privileged", "--cgroupns=private"], `
      bunc run --rm --rootfs /alpine.tar.gz -- sh -c 'echo inner $(cat /etc/alpine-release)' || echo "run failed: $?"
      bunc bundle /alpine.tar.gz /b -- sleep 300 >/dev/null || echo "bundle failed"
      cd /b && bunc run -d ${id} || echo "run -d failed"
      bunc exec ${id} sh -c 'echo exec pid $$; cat /proc/1/comm' || echo "exec failed"
      bunc update --memory 64m ${id} || echo "update failed"
      if [ -d /sys/fs/cgroup/memory ]; then echo "memory limit $(cat /sys/fs/cgroup/memory/bunc/${id}/memory.limit_in_bytes)"; else echo "memory limit $(cat /sys/fs/cgroup/bunc/${id}/memory.max)"; fi
      bunc delete -f ${id} || echo "delete failed"
      bunc list -q
      ${LEFTOVERS}
    `);
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual([
      "inner 3.20.3",
      expect.stringMatching(/^exec pid \d+$/),
      "sleep",
      `memory limit ${64 * 1024 * 1024}`,
      "state:",
      "cgroups:",
    ]);
    expect(r.code).toBe(0);
  });

  // The outer container sees only cgroup2, and its own cgroup (the namespace's root) holds
  // its processes: the kernel refuses controllers for children until they move to a leaf,
  // which bunc does as docker's dind entrypoint does. On a hybrid host the outer mounts
  // the cgroup2 hierarchy itself, where the test delegated hugetlb to it.
  const unified = existsSync("/sys/fs/cgroup/unified/cgroup.controllers") ? "/sys/fs/cgroup/unified" : existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : undefined;
  const hugetlb = !!unified && readFileSync(join(unified, "cgroup.subtree_control"), "utf8").split(/\s+/).includes("hugetlb") && existsSync("/sys/kernel/mm/hugepages/hugepages-2048kB");
  const noHugetlb = !skipReason && skipping(!hugetlb, "privileged, cgroup v2 only (ci-container.test.ts)",
    !unified ? "no cgroup2 mount" : "hugetlb is not enabled in the cgroup2 root's subtree_control, or no 2 MB huge pages");
  test.skipIf(noHugetlb)("privileged, cgroup v2 only: the outer's processes move to a leaf, so limits work", () => {
    // Delegate hugetlb to the outer container's cgroup (podman creates the rest below it).
    const parent = join(unified!, pm.cgroupParent);
    mkdirSync(parent, { recursive: true });
    writeFileSync(join(parent, "cgroup.subtree_control"), "+hugetlb");
    const id = uid();
    const config: any = defaultSpec({ args: ["sleep", "300"], terminal: false, rootfs: "rootfs" });
    config.linux.resources = { hugepageLimits: [{ pageSize: "2MB", limit: 4 * 1024 * 1024 }] };
    const r = outer(["--privileged", "--cgroupns=private"], `
      umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "no cgroup2 mount"
      bunc bundle /alpine.tar.gz /b -- true >/dev/null && cp /ci/config.json /b/config.json || echo "bundle failed"
      cd /b && bunc run -d ${id} || echo "run -d failed"
      echo "hugetlb $(cat /sys/fs/cgroup/bunc/${id}/hugetlb.2MB.max)"
      echo "root procs:$(cat /sys/fs/cgroup/cgroup.procs)"
      echo "subtree $(cat /sys/fs/cgroup/cgroup.subtree_control)"
      grep -q "^0::/init$" /proc/self/cgroup && echo "shell in /init"
      bunc exec ${id} true && echo "exec ok"
      bunc delete -f ${id} || echo "delete failed"
      ${LEFTOVERS}
    `, { "config.json": JSON.stringify(config) });
    expect(r.stderr).toBe("");
    expect(lines(r.stdout)).toEqual([
      `hugetlb ${4 * 1024 * 1024}`, "root procs:", "subtree hugetlb", "shell in /init", "exec ok", "state:", "cgroups:",
    ]);
    expect(r.code).toBe(0);
  });

  /** A script that tries bunc's default config, then a rootless one (bunc bundle --rootless). */
  const tryBoth = (id = uid()) => `
    bunc run --rm --rootfs /alpine.tar.gz -- echo inner >/tmp/out0 2>&1; echo "default: exit $? $(cat /tmp/out0)"
    bunc bundle --rootless /alpine.tar.gz /b -- sh -c 'echo rootless inner' >/dev/null || echo "bundle failed"
    cd /b && bunc run ${id} >/tmp/out1 2>&1; echo "rootless: exit $? $(cat /tmp/out1)"
    ${LEFTOVERS}
  `;

  /** "<label>: exit <n> <output>" of tryBoth()'s output. */
  const outcome = (out: string, label: string) => lines(out).find((l) => l.startsWith(`${label}: `))!.slice(label.length + 2);

  test("unprivileged (podman's defaults): one-line errors saying what the outer container must allow", () => {
    const r = outer([], tryBoth());
    // The default config needs writable cgroups, which only a privileged container has.
    expect(outcome(r.stdout, "default")).toMatch(/^exit 1 bunc: cannot create cgroup \S+: EROFS — bunc runs in a podman container whose cgroup tree is not writable .*--privileged.*bunc spec --rootless/);
    // A rootless config runs without cgroups, but podman masks parts of /proc.
    expect(outcome(r.stdout, "rootless")).toMatch(/^exit 1 bunc: mounts\[\d+\] \(\/proc\): .*EPERM — bunc runs in a podman container that masks parts of \/proc.*--security-opt unmask=\/proc\/\*/);
    expect(lines(r.stdout).slice(-2)).toEqual(["state:", "cgroups:"]);
  });

  test("unprivileged with /proc unmasked: the seccomp profile refuses sethostname; unconfined, a rootless config runs", () => {
    const masked = outer(["--security-opt", "unmask=/proc/*"], tryBoth());
    expect(outcome(masked.stdout, "rootless")).toMatch(/^exit 1 bunc: hostname: sethostname \S+: EPERM — bunc runs in a podman container whose seccomp profile refuses it .*seccomp=unconfined/);
    expect(lines(masked.stdout).slice(-2)).toEqual(["state:", "cgroups:"]);
    const open = outer(["--security-opt", "unmask=/proc/*", "--security-opt", "seccomp=unconfined"], tryBoth());
    expect(outcome(open.stdout, "rootless")).toBe("exit 0 rootless inner");
    expect(lines(open.stdout).slice(-2)).toEqual(["state:", "cgroups:"]);
  });

  test("rootless-in-userns outer (--uidmap): no namespaces without CAP_SYS_ADMIN, a rootless config runs where allowed", () => {
    const userns = ["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"];
    const r = outer(userns, tryBoth());
    // As root of a user namespace bunc treats an unwritable cgroup tree as rootless does.
    expect(outcome(r.stdout, "default")).toMatch(/^exit 1 bunc: clone: EPERM — bunc runs in a podman container without CAP_SYS_ADMIN.*--privileged.*bunc spec --rootless/);
    expect(outcome(r.stdout, "rootless")).toMatch(/^exit 1 bunc: mounts\[\d+\] \(\/proc\): .*EPERM — .*unmask=\/proc\/\*/);
    expect(lines(r.stdout).slice(-2)).toEqual(["state:", "cgroups:"]);
    const open = outer([...userns, "--security-opt", "unmask=/proc/*", "--security-opt", "seccomp=unconfined"], tryBoth());
    expect(outcome(open.stdout, "rootless")).toBe("exit 0 rootless inner");
    expect(lines(open.stdout).slice(-2)).toEqual(["state:", "cgroups:"]);
  });
});
