// Config checks made at create: duplicate rlimits, sysctls only in the container's own
// namespaces, AppArmor/SELinux settings the host cannot enforce, a frozen cgroup, and
// the propagation sequence for an unbindable root.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseConfig } from "../../src/spec/parse";
import { defaultSpec } from "../../src/spec/default";
import { validateSysctl, isHostNamespace } from "../../src/linux/sysctl";
import { APPARMOR_PROFILES, loadedApparmorProfiles, parseApparmorProfiles, validateApparmorProfile, validateLabels, selinuxEnabled } from "../../src/linux/lsm";
import { CgroupManager } from "../../src/linux/cgroups";
import { prepareRoot } from "../../src/linux/rootfs";
import { MS } from "../../src/linux/mount-options";
import { RecordingSyscalls } from "../support/recording-syscalls";

const base = () => JSON.parse(JSON.stringify(defaultSpec({ args: ["true"], terminal: false })));
const config = (edit: (c: any) => void) => {
  const c = base();
  edit(c);
  return parseConfig(c);
};
const message = (f: () => void) => {
  try {
    f();
  } catch (e: any) {
    return e.message as string;
  }
  return "(accepted)";
};

describe("process.rlimits", () => {
  test("a type given twice is an error naming the second entry", () => {
    const c = base();
    c.process.rlimits = [
      { type: "RLIMIT_NOFILE", soft: 1, hard: 1 }, { type: "RLIMIT_CORE", soft: 0, hard: 0 }, { type: "RLIMIT_NOFILE", soft: 2, hard: 2 },
    ];
    expect(message(() => parseConfig(c))).toBe('invalid config.json: process.rlimits[2].type: duplicate "RLIMIT_NOFILE"');
    c.process.rlimits.pop();
    expect(parseConfig(c).process!.rlimits!.length).toBe(2);
  });
});

describe("linux.sysctl", () => {
  const none = () => false;
  const without = (type: string) => (c: any) => (c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== type));
  const check = (edit: (c: any) => void, sysctl: Record<string, string>, isHost = none) =>
    message(() => validateSysctl(config((c) => (edit(c), (c.linux.sysctl = sysctl))), isHost));

  test("sysctls of namespaces the container owns are accepted", () => {
    const all = { "net.ipv4.ping_group_range": "0 0", "net/ipv4/ip_forward": "1", "kernel.shmmax": "1", "kernel/msgmax": "1", "fs.mqueue.queues_max": "9", "kernel.domainname": "d" };
    expect(check((c) => delete c.hostname, all)).toBe("(accepted)");
    // A joined namespace that is not bunc's own is the container's.
    expect(check((c) => (c.linux.namespaces.find((n: any) => n.type === "network").path = "/run/netns/x"), all)).toBe("(accepted)");
  });
  test("net.* without a network namespace, or in the host's joined by path", () => {
    expect(check(without("network"), { "net.ipv4.ping_group_range": "0 0" }))
      .toBe('linux.sysctl["net.ipv4.ping_group_range"]: not allowed in the host\'s network namespace');
    const hostNet = (c: any) => (c.linux.namespaces.find((n: any) => n.type === "network").path = "/proc/1/ns/net");
    expect(check(hostNet, { "net.ipv4.ip_forward": "1" }, (t, p) => t === "network" && p === "/proc/1/ns/net")).toContain("not allowed in the host's network namespace");
  });
  test("ipc sysctls without an ipc namespace", () => {
    expect(check(without("ipc"), { "fs.mqueue.queues_max": "9" })).toBe('linux.sysctl["fs.mqueue.queues_max"]: not allowed in the host\'s ipc namespace');
    expect(check(without("ipc"), { "kernel/shm_rmid_forced": "1" })).toContain("host's ipc namespace");
  });
  test("kernel.hostname is refused, in the container's own uts namespace too: the hostname field is the way (runc, crun)", () => {
    const hostnameField = 'linux.sysctl["kernel.hostname"]: conflicts with the OCI "hostname" field, which is the way to set it';
    expect(check((c) => (without("uts")(c), delete c.hostname), { "kernel.hostname": "x" })).toBe('linux.sysctl["kernel.hostname"]: not allowed in the host\'s uts namespace');
    expect(check((c) => delete c.hostname, { "kernel.hostname": "x" })).toBe(hostnameField);
    expect(check((c) => delete c.hostname, { "kernel/hostname": "x" })).toBe(hostnameField.replace("kernel.hostname", "kernel/hostname"));
    expect(check(() => {}, { "kernel.hostname": "x" })).toBe(hostnameField);
    expect(check((c) => (c.hostname = "x"), { "kernel.hostname": "x" })).toBe(hostnameField);
  });
  test("kernel.domainname: in the container's own uts namespace, equal to the domainname field if both are given (crun)", () => {
    expect(check((c) => (without("uts")(c), delete c.hostname), { "kernel.domainname": "d" })).toBe('linux.sysctl["kernel.domainname"]: not allowed in the host\'s uts namespace');
    expect(check(() => {}, { "kernel.domainname": "d" })).toBe("(accepted)");
    expect(check((c) => (c.domainname = "d.example"), { "kernel.domainname": "d.example" })).toBe("(accepted)");
    expect(check((c) => (c.domainname = "d.example"), { "kernel/domainname": "d.example" })).toBe("(accepted)");
    expect(check((c) => (c.domainname = ""), { "kernel.domainname": "d.example" })).toBe("(accepted)");
    expect(check((c) => (c.domainname = "d.example"), { "kernel.domainname": "x.example" }))
      .toBe('linux.sysctl["kernel.domainname"]: "x.example" differs from the OCI "domainname" field ("d.example")');
  });
  test("anything else is refused", () => {
    expect(check(() => {}, { "kernel.pid_max": "100000" })).toBe('linux.sysctl["kernel.pid_max"]: not in a separate kernel namespace, not allowed');
    expect(check(() => {}, { "vm.overcommit_memory": "1" })).toContain("not in a separate kernel namespace");
  });
  test("isHostNamespace compares with bunc's own namespace", () => {
    expect(isHostNamespace("network", "/proc/self/ns/net")).toBe(true);
    expect(isHostNamespace("network", `/proc/${process.pid}/ns/net`)).toBe(true);
    expect(isHostNamespace("network", "/proc/self/ns/ipc")).toBe(false);
    expect(isHostNamespace("network", "/no/such/ns")).toBe(false);
  });
});

describe("AppArmor and SELinux settings", () => {
  const off = { apparmor: () => false, selinux: () => false }, on = { apparmor: () => true, selinux: () => true };
  const check = (edit: (c: any) => void, host = off) => message(() => validateLabels(config(edit), host));
  test("refused on a host without the LSM, naming the field", () => {
    expect(check((c) => (c.process.apparmorProfile = "docker-default"))).toBe("process.apparmorProfile: AppArmor is not enabled on this host");
    expect(check((c) => (c.process.selinuxLabel = "system_u:system_r:container_t:s0"))).toBe("process.selinuxLabel: SELinux is not enabled on this host");
    expect(check((c) => (c.linux.mountLabel = "system_u:object_r:container_file_t:s0"))).toBe("linux.mountLabel: SELinux is not enabled on this host");
  });
  test("empty strings are unset; an enabled LSM is not refused", () => {
    expect(check((c) => ((c.process.apparmorProfile = ""), (c.process.selinuxLabel = ""), (c.linux.mountLabel = "")))).toBe("(accepted)");
    expect(check((c) => ((c.process.apparmorProfile = "p"), (c.linux.mountLabel = "l")), on)).toBe("(accepted)");
  });
  test("SELinux counts as enabled only with selinuxfs mounted at /sys/fs/selinux", () => {
    expect(selinuxEnabled(() => "25 23 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw")).toBe(false);
  });
  test("an AppArmor profile must be loaded: the profiles list (a fake file) names it", () => {
    const dir = mkdtempSync(`${tmpdir()}/bunc-test-aa-`);
    try {
      const file = `${dir}/profiles`;
      writeFileSync(file, "docker-default (enforce)\nbunc-test (complain)\n/usr/bin/man (enforce)\nlsb_release//null-/usr/bin/x (enforce)\n");
      const loaded = loadedApparmorProfiles(file)!;
      expect([...loaded]).toEqual(["docker-default", "bunc-test", "/usr/bin/man", "lsb_release//null-/usr/bin/x"]);
      expect(parseApparmorProfiles("a name with spaces (kill)\n")).toEqual(new Set(["a name with spaces"]));
      const host = { apparmor: () => true, selinux: () => false, apparmorProfiles: () => loadedApparmorProfiles(file) };
      const aa = (profile: string) => check((c) => (c.process.apparmorProfile = profile), host);
      expect(aa("docker-default")).toBe("(accepted)");
      expect(aa("bunc-test")).toBe("(accepted)");
      expect(aa("unconfined")).toBe("(accepted)");
      expect(aa("no-such-profile")).toBe(`process.apparmorProfile: AppArmor profile "no-such-profile" is not loaded (${APPARMOR_PROFILES}; load it with apparmor_parser)`);
      // stacks and other policy namespaces are the kernel's to check, at start
      expect(aa("docker-default//&other")).toBe("(accepted)");
      expect(aa(":ns:p")).toBe("(accepted)");
      // an unreadable list (not the policy admin): cannot tell, not refused
      expect(loadedApparmorProfiles(`${dir}/missing`)).toBeUndefined();
      expect(check((c) => (c.process.apparmorProfile = "x"), { ...host, apparmorProfiles: () => undefined })).toBe("(accepted)");
      // AppArmor off: refused whether or not the name is listed
      expect(message(() => validateApparmorProfile("docker-default", { ...host, apparmor: () => false }))).toBe("process.apparmorProfile: AppArmor is not enabled on this host");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a frozen cgroup", () => {
  let root = "";
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  function fakeTree(): string {
    root = mkdtempSync(`${tmpdir()}/bunc-test-cg2-`);
    writeFileSync(`${root}/cgroup.controllers`, "pids\n");
    writeFileSync(`${root}/cgroup.subtree_control`, "");
    return root;
  }
  test("an existing frozen cgroup is refused before anything is made", () => {
    fakeTree();
    mkdirSync(`${root}/mine`);
    writeFileSync(`${root}/mine/cgroup.freeze`, "1\n");
    const m = CgroupManager.forContainer("c1", "/mine", { root });
    // runc's words (cgroups.bats "should refuse pre-existing frozen cgroup").
    expect(() => m.create()).toThrow(`linux.cgroupsPath: container's cgroup unexpectedly frozen: ${root}/mine`);
    expect(existsSync(`${root}/mine`)).toBe(true); // the user's cgroup stays
  });
  test("a cgroup below a frozen parent is refused and not created", () => {
    fakeTree();
    mkdirSync(`${root}/parent`);
    writeFileSync(`${root}/parent/cgroup.freeze`, "1\n");
    const m = CgroupManager.forContainer("c1", "/parent/c1", { root });
    expect(() => m.create()).toThrow(`container's cgroup unexpectedly frozen: ${root}/parent`);
    expect(existsSync(`${root}/parent/c1`)).toBe(false);
  });
  test("a thawed existing cgroup is used", () => {
    fakeTree();
    mkdirSync(`${root}/mine`);
    writeFileSync(`${root}/mine/cgroup.freeze`, "0\n");
    expect(CgroupManager.forContainer("c1", "/mine", { root }).create()).toBe(true);
  });
});

describe("rootfsPropagation unbindable", () => {
  test("the tree stays private until after pivot_root (the rootfs bind needs a bindable source)", () => {
    for (const p of ["unbindable", "runbindable"]) {
      const sys = new RecordingSyscalls();
      prepareRoot(sys, "/b/rootfs", p, () => "64 1 254:0 / / rw,relatime - ext4 /dev/vda rw");
      expect(sys.mounts()[0]).toEqual([null, "/", null, MS.PRIVATE | MS.REC, null]);
      expect(sys.mounts()[1]).toEqual(["/b/rootfs", "/b/rootfs", null, MS.BIND | MS.REC, null]);
    }
  });
});

describe("hostname in a joined uts namespace", () => {
  test("refused when the namespace is bunc's own (it would rename the host)", () => {
    const { checkConfigForHost } = require("../../src/runtime/host-checks") as typeof import("../../src/runtime/host-checks");
    const joined = (path: string) => config((c) => (c.linux.namespaces.find((n: any) => n.type === "uts").path = path));
    expect(message(() => checkConfigForHost(joined("/proc/self/ns/uts")))).toBe("hostname: not allowed in the host's uts namespace (/proc/self/ns/uts)");
    expect(message(() => checkConfigForHost(joined("/run/uts/other")))).toBe("(accepted)");
  });
});
