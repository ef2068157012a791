// SELinux labels as runc applies them, without SELinux (this host has none, and no guest
// here boots one): the request field of process.selinuxLabel, context= in the mount data of
// the mounts runc labels, mqueue's xattr, and the attr/exec and attr/keycreate writes, all
// through RecordingSyscalls; the refusals on a host without SELinux; exec --process-label.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MS, withMountLabel } from "../../src/linux/mount-options";
import { mountOne, type MountContext } from "../../src/linux/mounts";
import { maskPaths } from "../../src/linux/rootfs";
import { effectiveMountLabel, execAttrs, openExecAttrs, setKeyCreateLabel, validateLabels, validateSelinuxLabel, writeExecAttrs } from "../../src/linux/lsm";
import { decodeFailure, describeFailure, encodeRequest, FIELDS, generateHeader, STEPS } from "../../src/sys/native-request";
import { processFields } from "../../src/runtime/native-launch";
import { splitExecArgv } from "../../src/cli/commands/exec";
import { defaultSpec } from "../../src/spec/default";
import { RecordingSyscalls } from "../support/recording-syscalls";
import { O } from "../../src/sys/arch";

const LABEL = "system_u:system_r:container_t:s0:c1,c2";
const FILE_LABEL = "system_u:object_r:container_file_t:s0:c1,c2";
const CONTEXT = `context="${FILE_LABEL}"`;

describe("process.selinuxLabel in the native request", () => {
  const names = Object.keys(FIELDS);
  const at = (req: Uint8Array, name: string) => {
    const dv = new DataView(req.buffer, req.byteOffset);
    const v = dv.getBigUint64(24 + 8 * names.indexOf(name), true);
    const blob = req.subarray(24 + 8 * names.length);
    return new TextDecoder().decode(blob.subarray(Number(v >> 32n), Number(v >> 32n) + Number(v & 0xffffffffn)));
  };
  const fields = (selinuxLabel?: string) => processFields({ process: { args: ["sh"], cwd: "/", env: [], selinuxLabel, apparmorProfile: "p" }, env: [], preserveFds: 0, keepFds: [], setgroupsMayFail: false });
  test("a NUL-terminated string in SELINUX_LABEL beside APPARMOR_PROFILE, unset when absent or empty", () => {
    expect(at(encodeRequest(fields(LABEL)), "SELINUX_LABEL")).toBe(`${LABEL}\0`);
    expect(at(encodeRequest(fields(LABEL)), "APPARMOR_PROFILE")).toBe("p\0");
    expect(at(encodeRequest(fields("")), "SELINUX_LABEL")).toBe("");
    expect(at(encodeRequest(fields()), "SELINUX_LABEL")).toBe("");
    expect(generateHeader()).toContain("F_SELINUX_LABEL");
    expect(generateHeader()).toContain("STEP_SELINUX");
    expect(generateHeader()).toContain("STEP_KEYCREATE");
  });
  test("a failure names the label; EINVAL is a context the policy does not have", () => {
    const f = { step: "SELINUX" as const, errno: 22, exitCode: 1 };
    expect(describeFailure(f, { selinuxLabel: "x_u:x_r:x_t:s0" })).toBe('process.selinuxLabel: cannot apply SELinux label "x_u:x_r:x_t:s0": EINVAL (not a context of the loaded policy)');
    expect(describeFailure({ ...f, errno: 13 }, { selinuxLabel: LABEL })).toBe(`process.selinuxLabel: cannot apply SELinux label "${LABEL}": EACCES`);
    expect(describeFailure({ step: "KEYCREATE", errno: 13, exitCode: 1 })).toContain("process.selinuxLabel: labelling the session keyring (attr/keycreate)");
    // the keyring is labelled first: a label the policy lacks fails there, and is named (seen in the SELinux guest)
    expect(describeFailure({ step: "KEYCREATE", errno: 22, exitCode: 1 }, { selinuxLabel: "u:r:no_such_t:s0" })).toBe(
      'process.selinuxLabel: cannot label the session keyring "u:r:no_such_t:s0": EINVAL (not a context of the loaded policy)');
    const bytes = new Uint8Array(new Int32Array([0x45524e42, STEPS.indexOf("KEYCREATE"), 13, 1]).buffer);
    expect(decodeFailure(bytes)?.step).toBe("KEYCREATE");
  });
});

describe("linux.mountLabel as context= (runc's FormatMountLabel)", () => {
  test("appended quoted to the data of tmpfs, devpts and other new filesystems", () => {
    expect(withMountLabel("mode=755,size=65536k", "tmpfs", FILE_LABEL)).toBe(`mode=755,size=65536k,${CONTEXT}`);
    expect(withMountLabel(null, "tmpfs", FILE_LABEL)).toBe(CONTEXT);
    expect(withMountLabel("newinstance,ptmxmode=0666", "devpts", FILE_LABEL)).toBe(`newinstance,ptmxmode=0666,${CONTEXT}`);
    expect(withMountLabel("lowerdir=/a,upperdir=/b,workdir=/c", "overlay", FILE_LABEL)).toBe(`lowerdir=/a,upperdir=/b,workdir=/c,${CONTEXT}`);
  });
  test("not for proc, sysfs, mqueue, cgroup hierarchies or binds; nothing without a label (SELinux off)", () => {
    for (const t of ["proc", "sysfs", "mqueue", "cgroup", "cgroup2"]) expect(withMountLabel("x=1", t, FILE_LABEL)).toBe("x=1");
    expect(withMountLabel(null, "none", FILE_LABEL, true)).toBeNull();
    expect(withMountLabel("mode=755", "tmpfs", undefined)).toBe("mode=755");
    expect(withMountLabel(null, "tmpfs", "")).toBeNull();
  });
  test("the effective label: the config's with SELinux, none without", () => {
    const c = defaultSpec() as any;
    c.linux.mountLabel = FILE_LABEL;
    expect(effectiveMountLabel(c, () => true)).toBe(FILE_LABEL);
    expect(effectiveMountLabel(c, () => false)).toBeUndefined();
    c.linux.mountLabel = "";
    expect(effectiveMountLabel(c, () => true)).toBeUndefined();
  });
});

describe("mountOne and maskPaths with a mount label", () => {
  const dir = mkdtempSync(join(tmpdir(), "bunc-selinux-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  function context(mountLabel: string | undefined) {
    const rootfs = join(dir, `root${++n}`);
    mkdirSync(join(rootfs, "etc"), { recursive: true });
    const sys = new RecordingSyscalls();
    const rootFd = openSync(rootfs, O.PATH | O.DIRECTORY);
    const ctx: MountContext = { sys, rootfs, rootFd, bundle: dir, inUserNs: false, mountLabel };
    return { ctx, sys, rootfs, done: () => closeSync(rootFd) };
  }
  test("the default spec's mounts: tmpfs and devpts labelled, proc, sysfs, mqueue's data and binds not", () => {
    const { ctx, sys, rootfs, done } = context(FILE_LABEL);
    const spec = defaultSpec();
    for (const m of spec.mounts.filter((m) => m.type !== "cgroup" && m.type !== "cgroup2")) mountOne(ctx, m);
    const data = Object.fromEntries(sys.mounts().filter(([, , type]) => type).map(([, target, type, , d]) => [target.slice(rootfs.length) || "/", [type, d]]));
    expect(data["/proc"]).toEqual(["proc", null]);
    expect(data["/dev"]![1]).toBe(`mode=755,size=65536k,${CONTEXT}`);
    expect(data["/dev/pts"]![1]).toBe(`newinstance,ptmxmode=0666,mode=0620,gid=5,${CONTEXT}`);
    expect(data["/dev/shm"]![1]).toBe(`mode=1777,size=65536k,${CONTEXT}`);
    expect(data["/dev/mqueue"]).toEqual(["mqueue", null]);
    expect(data["/sys"]).toEqual(["sysfs", null]);
    // mqueue: the label on its root (runc: label.SetFileLabel)
    expect(sys.of("fsetxattr").map((c) => c.args.slice(1))).toEqual([["security.selinux", FILE_LABEL]]);
    done();
  }, 10_000);
  test("no label: the data as the config has it, no xattr", () => {
    const { ctx, sys, rootfs, done } = context(undefined);
    for (const m of defaultSpec().mounts.filter((m) => m.type === "tmpfs" || m.type === "mqueue")) mountOne(ctx, m);
    expect(sys.mounts().map(([, t, , , d]) => [t.slice(rootfs.length), d])).toEqual([["/dev", "mode=755,size=65536k"], ["/dev/shm", "mode=1777,size=65536k"], ["/dev/mqueue", null]]);
    expect(sys.of("fsetxattr")).toEqual([]);
    done();
  });
  test("a bind mount's data stays empty (the kernel takes none)", () => {
    const { ctx, sys, done } = context(FILE_LABEL);
    mkdirSync(join(dir, "src"), { recursive: true });
    mountOne(ctx, { destination: "/data", source: join(dir, "src"), options: ["rbind", "nosuid"] });
    expect(sys.mounts().every(([, , , , d]) => d === null)).toBe(true);
    done();
  });
  test("a masked directory's tmpfs is labelled (runc's maskPath)", () => {
    const { sys, rootfs, done } = context(FILE_LABEL);
    mkdirSync(join(rootfs, "proc/acpi"), { recursive: true });
    maskPaths(sys, ["/proc/acpi"], rootfs, FILE_LABEL);
    expect(sys.mounts().map(([, , t, f, d]) => [t, f, d])).toEqual([["tmpfs", MS.RDONLY, `size=0,${CONTEXT}`]]);
    done();
  });
});

describe("attr/exec and attr/keycreate writes", () => {
  test("AppArmor's then SELinux's exec attribute: opened below the given attr dir, written in one write each, closed", () => {
    const sys = new RecordingSyscalls();
    const attrs = openExecAttrs(sys, execAttrs({ apparmorProfile: "docker-default", selinuxLabel: LABEL }), "/host/proc/thread-self/attr");
    expect(sys.of("open").map((c) => c.args[0])).toEqual(["/host/proc/thread-self/attr/apparmor/exec", "/host/proc/thread-self/attr/exec"]);
    expect(sys.of("open").every((c) => c.args[1] === (O.WRONLY | O.CLOEXEC))).toBe(true);
    expect(sys.of("write")).toEqual([]);
    writeExecAttrs(sys, attrs);
    expect(sys.of("write").map((c) => c.args[1])).toEqual(["exec docker-default", LABEL]);
    expect(sys.of("close").length).toBe(2);
  });
  test("only the label: attr/exec alone; nothing asked, nothing opened", () => {
    const sys = new RecordingSyscalls();
    writeExecAttrs(sys, openExecAttrs(sys, execAttrs({ selinuxLabel: LABEL })));
    expect(sys.calls.map((c) => [c.op, c.args[0]])).toEqual([["open", "/proc/thread-self/attr/exec"], ["write", 100_000], ["close", 100_000]]);
    const none = new RecordingSyscalls();
    writeExecAttrs(none, openExecAttrs(none, execAttrs({ selinuxLabel: "", apparmorProfile: undefined })));
    expect(none.calls).toEqual([]);
  });
  test("failures name the field and the label", () => {
    const refusing = new RecordingSyscalls({ fail: (c) => (c.op === "write" ? 22 : undefined) });
    const attrs = openExecAttrs(refusing, execAttrs({ selinuxLabel: "bad_t" }));
    expect(() => writeExecAttrs(refusing, attrs)).toThrow('process.selinuxLabel: cannot apply SELinux label "bad_t": EINVAL (not a context of the loaded policy)');
    const noFile = new RecordingSyscalls({ fail: (c) => (c.op === "open" ? 2 : undefined) });
    expect(() => openExecAttrs(noFile, execAttrs({ selinuxLabel: LABEL }))).toThrow(`process.selinuxLabel: cannot apply SELinux label "${LABEL}": ENOENT`);
  });
  test("keycreate: the process label before the keyring is joined, only with SELinux; a kernel without the file is left alone", () => {
    const sys = new RecordingSyscalls();
    setKeyCreateLabel(sys, LABEL, () => true);
    expect(sys.calls.map((c) => [c.op, c.args[0], c.args[1]])).toEqual([["open", "/proc/thread-self/attr/keycreate", O.WRONLY | O.CLOEXEC], ["write", 100_000, LABEL], ["close", 100_000, undefined]]);
    const off = new RecordingSyscalls();
    setKeyCreateLabel(off, LABEL, () => false);
    setKeyCreateLabel(off, undefined, () => true);
    expect(off.calls).toEqual([]);
    const absent = new RecordingSyscalls({ fail: (c) => (c.op === "open" ? 2 : undefined) });
    expect(() => setKeyCreateLabel(absent, LABEL, () => true)).not.toThrow();
    const denied = new RecordingSyscalls({ fail: (c) => (c.op === "write" ? 13 : undefined) });
    expect(() => setKeyCreateLabel(denied, LABEL, () => true)).toThrow(`process.selinuxLabel: cannot label the session keyring "${LABEL}": EACCES`);
    expect(denied.of("close").length).toBe(1);
  });
});

describe("refusals and the CLI", () => {
  const off = { apparmor: () => false, selinux: () => false }, on = { apparmor: () => false, selinux: () => true };
  const message = (fn: () => void) => { try { fn(); return "(accepted)"; } catch (e: any) { return e.message; } };
  test("a label without SELinux is refused (runc: selinux label is specified in config, but selinux is disabled)", () => {
    expect(message(() => validateSelinuxLabel(LABEL, off))).toBe("process.selinuxLabel: SELinux is not enabled on this host");
    expect(message(() => validateSelinuxLabel(LABEL, on))).toBe("(accepted)");
    expect(message(() => validateSelinuxLabel("", off))).toBe("(accepted)");
    expect(message(() => validateSelinuxLabel('a"b', on))).toBe('process.selinuxLabel: "a"b" is not an SELinux context');
    const c = defaultSpec() as any;
    c.process.selinuxLabel = LABEL;
    c.linux.mountLabel = FILE_LABEL;
    expect(message(() => validateLabels(c, on))).toBe("(accepted)");
    c.process.selinuxLabel = "";
    expect(message(() => validateLabels(c, off))).toBe("linux.mountLabel: SELinux is not enabled on this host");
  });
  test("exec --process-label takes a value before the container id", () => {
    expect(splitExecArgv(["--process-label", LABEL, "ctr", "sh", "-c", "id"])).toEqual({ own: ["--process-label", LABEL], id: "ctr", command: ["sh", "-c", "id"] });
  });
});
