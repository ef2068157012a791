// The systemd cgroup driver without systemd: cgroupsPath rules, slice expansion, the
// resource -> property mapping, the D-Bus conversation (a recording fake bus; the client
// itself is test/unit/dbus.test.ts), and the manager's hooks (a recording caller and a fake
// cgroup2 tree).
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expandSlice, systemdPlacement, rangeToBits, resourceProperties, unitProperties, deviceProperties, type Prop, type SystemdRequest } from "../../src/linux/cgroups/systemd";
import { busAddresses, handle, parseVersion, type Bus } from "../../src/linux/cgroups/systemd-dbus";
import { DBusError } from "../../src/sys/dbus";
import { CgroupManager } from "../../src/linux/cgroups";

const props = (list: Prop[]) => Object.fromEntries(list.map(([n, , v]) => [n, v]));

describe("cgroupsPath under --systemd-cgroup (runc's rules)", () => {
  test("slices expand into their ancestry", () => {
    expect(expandSlice("system.slice")).toBe("/system.slice");
    expect(expandSlice("kubepods-burstable-pod123.slice")).toBe("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod123.slice");
    expect(expandSlice("-.slice")).toBe("/");
    for (const bad of ["a--b.slice", "-a.slice", "a.scope", ".slice", "a/b.slice"]) expect(() => expandSlice(bad)).toThrow(/invalid slice name/);
  });

  test("slice:prefix:name, defaults and a slice as the unit", () => {
    expect(systemdPlacement("abc", "system.slice:docker:abc")).toEqual({ slice: "system.slice", unit: "docker-abc.scope", path: "/system.slice/docker-abc.scope" });
    expect(systemdPlacement("abc", undefined)).toEqual({ slice: "system.slice", unit: "bunc-abc.scope", path: "/system.slice/bunc-abc.scope" });
    // rootless: the user's own instance, its units below user@UID.service (runc's systemdUser)
    expect(systemdPlacement("abc", undefined, { uid: 1000 })).toEqual({
      slice: "user.slice", unit: "bunc-abc.scope", path: "/user.slice/user-1000.slice/user@1000.service/user.slice/bunc-abc.scope",
    });
    expect(systemdPlacement("abc", "-.slice:p:abc", { uid: 1000 }).path).toBe("/user.slice/user-1000.slice/user@1000.service/p-abc.scope");
    expect(systemdPlacement("abc", ":crio:abc").path).toBe("/system.slice/crio-abc.scope");
    expect(systemdPlacement("x", "kubepods-burstable-pod1.slice:cri-containerd:x").path).toBe(
      "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-x.scope");
    expect(systemdPlacement("x", "kubepods-burstable.slice::kubepods-burstable-pod1.slice")).toEqual({
      slice: "kubepods-burstable.slice", unit: "kubepods-burstable-pod1.slice",
      path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice",
    });
    expect(systemdPlacement("x", "-.slice:p:x").path).toBe("/p-x.scope");
    expect(() => systemdPlacement("x", "/bunc/x")).toThrow(/must be "slice:prefix:name"/);
    expect(() => systemdPlacement("x", "a.slice:p:")).toThrow(/has no name/);
    expect(() => systemdPlacement("x", "a--b.slice:p:x")).toThrow(/invalid slice name/);
  });
});

describe("resources as systemd properties", () => {
  test("cpu masks are little-endian bytes", () => {
    expect(rangeToBits("0")).toEqual([1]);
    expect(rangeToBits("0-3,7")).toEqual([0x8f]);
    expect(rangeToBits("8")).toEqual([0, 1]);
    expect(rangeToBits("1,10-11")).toEqual([2, 0x0c]);
    expect(() => rangeToBits("x")).toThrow(/invalid list/);
  });

  test("runc's mapping: memory, swap, cpu weight/quota/period, cpuset, pids, io", () => {
    const p = props(resourceProperties({
      memory: { limit: 33554432, reservation: 16777216, swap: 67108864 },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
      pids: { limit: 100 }, blockIO: { weight: 500 },
    } as any));
    expect(p).toEqual({
      MemoryMax: "33554432", MemoryLow: "16777216", MemorySwapMax: "33554432",
      CPUWeight: "39", CPUQuotaPeriodUSec: "100000", CPUQuotaPerSecUSec: "500000",
      AllowedCPUs: [3], AllowedMemoryNodes: [1], TasksMax: "100", IOWeight: String(1 + Math.floor((490 * 9999) / 990)),
    });
  });

  test("unlimited values, quota rounding, no swap setting", () => {
    const max = "18446744073709551615";
    expect(props(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 }, cpu: { quota: -1, period: 50000 } } as any))).toEqual({
      MemoryMax: max, MemorySwapMax: max, TasksMax: max, CPUQuotaPeriodUSec: "50000", CPUQuotaPerSecUSec: max,
    });
    // 33333/100000 = 333330 us per second -> rounded up to whole percents (340000), as runc.
    expect(props(resourceProperties({ cpu: { quota: 33333 } } as any))).toEqual({ CPUQuotaPerSecUSec: "340000" });
    expect(resourceProperties({ memory: { limit: 1 << 25 } } as any)).toEqual([["MemoryMax", "t", "33554432"]]);
  });

  test("unified entries systemd knows", () => {
    expect(props(resourceProperties({ unified: { "cpu.weight": "200", "memory.high": "1000000", "memory.max": "max", "pids.max": "9", "cpu.max": "max 20000", "cpuset.cpus": "2", "io.max": "8:0 rbps=1" } } as any))).toEqual({
      CPUWeight: "200", MemoryHigh: "1000000", MemoryMax: "18446744073709551615", TasksMax: "9",
      CPUQuotaPeriodUSec: "20000", CPUQuotaPerSecUSec: "18446744073709551615", AllowedCPUs: [4],
    });
    expect(() => resourceProperties({ unified: { "memory.high": "lots" } } as any)).toThrow(/memory.high.*invalid value/);
  });

  test("devices: default deny then allows; anything else left to the eBPF program", () => {
    const proc = () => "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n";
    expect(deviceProperties([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
      { allow: true, type: "c", major: 136, minor: -1, access: "rw" },
      { allow: true, type: "b", major: -1, minor: -1, access: "m" },
    ] as any, proc)).toEqual([["DevicePolicy", "s", "strict"], ["DeviceAllow", "a(ss)", [["/dev/char/1:3", "rwm"], ["char-pts", "rw"], ["block-*", "m"]]]]);
    expect(deviceProperties([{ allow: true, access: "rwm" }] as any)).toEqual([["DevicePolicy", "s", "auto"], ["DeviceAllow", "a(ss)", []]]);
    expect(deviceProperties([{ allow: false, access: "rwm" }, { allow: false, type: "c", major: 1, minor: 3 }] as any)).toEqual([]);
    expect(deviceProperties([{ allow: true, type: "c", major: 1, minor: 3 }] as any)).toEqual([]);
  });

  test("the unit: slice, the init, delegation, accounting", () => {
    const p = unitProperties("abc", systemdPlacement("abc", "system.slice:docker:abc"), 42, { memory: { limit: 1 << 25 } } as any);
    expect(props(p)).toEqual({
      Description: "bunc container abc", Slice: "system.slice", PIDs: [42], Delegate: true,
      MemoryAccounting: true, CPUAccounting: true, IOAccounting: true, TasksAccounting: true, DefaultDependencies: false, MemoryMax: "33554432",
    });
    expect(p.find(([n]) => n === "PIDs")![1]).toBe("au");
    const slice = props(unitProperties("x", systemdPlacement("x", "kubepods.slice::kubepods-pod1.slice"), -1, {} as any));
    expect(slice.Wants).toEqual(["kubepods.slice"]);
    expect(slice.Delegate).toBeUndefined();
    expect(slice.PIDs).toBeUndefined();
  });
});

/** A systemd on a fake bus: records calls, answers jobs with JobRemoved. */
function fakeBus(o: { result?: string; version?: string; startError?: string[]; controlGroup?: string } = {}) {
  const calls: [string, unknown[]][] = [];
  const results = new Map<string, string>();
  let n = 0;
  const startErrors = [...(o.startError ?? [])];
  const bus: Bus = {
    callManager(member, _sig, body) {
      calls.push([member, body]);
      if (member === "StartTransientUnit" && startErrors.length) throw new DBusError(startErrors.shift()!, "exists");
      if (member === "StartTransientUnit" || member === "StopUnit") {
        const job = `/org/freedesktop/systemd1/job/${++n}`;
        results.set(job, o.result ?? "done");
        return [job];
      }
      return [];
    },
    managerProperty(name) {
      calls.push([`Get ${name}`, []]);
      if (name === "ControlGroup") return o.controlGroup ?? "/user.slice/user-1000.slice/user@1000.service";
      return o.version ?? "252.19-1~deb12u1";
    },
    subscribe() {},
    jobResult(job) {
      const r = results.get(job);
      if (r === undefined) throw new Error(`no JobRemoved for ${job}`);
      return r;
    },
    close() {},
  };
  return { bus, calls };
}

describe("the D-Bus conversation (fake bus)", () => {
  const start: SystemdRequest = { op: "start", unit: "bunc-a.scope", props: [["PIDs", "au", [7]], ["AllowedCPUs", "ay", [1]]], timeoutMs: 1000 };

  test("start waits for the job; old systemd loses newer properties", () => {
    const f = fakeBus();
    handle(f.bus, start);
    expect(f.calls).toEqual([["Get Version", []], ["StartTransientUnit", ["bunc-a.scope", "replace", start.props, []]]]);
    const old = fakeBus({ version: "239" });
    handle(old.bus, start);
    expect(old.calls[1]![1]).toEqual(["bunc-a.scope", "replace", [["PIDs", "au", [7]]], []]);
  });

  test("a failed job is an error and reset; a leftover unit is reset and retried once", () => {
    const f = fakeBus({ result: "failed" });
    expect(() => handle(f.bus, start)).toThrow(/job ended "failed"/);
    expect(f.calls.map(([m]) => m)).toEqual(["Get Version", "StartTransientUnit", "ResetFailedUnit"]);
    const again = fakeBus({ startError: ["org.freedesktop.systemd1.UnitExists"] });
    handle(again.bus, start);
    expect(again.calls.map(([m]) => m)).toEqual(["Get Version", "StartTransientUnit", "ResetFailedUnit", "StartTransientUnit"]);
    // twice: an error
    const twice = fakeBus({ startError: ["org.freedesktop.systemd1.UnitExists", "org.freedesktop.systemd1.UnitExists"] });
    expect(() => handle(twice.bus, start)).toThrow(DBusError);
    // any other D-Bus error: no retry
    const denied = fakeBus({ startError: ["org.freedesktop.DBus.Error.AccessDenied"] });
    expect(() => handle(denied.bus, start)).toThrow(DBusError);
    expect(denied.calls.map(([m]) => m)).toEqual(["Get Version", "StartTransientUnit"]);
  });

  test("a user's instance: its cgroup checked against where bunc will write", () => {
    const path = "/user.slice/user-1000.slice/user@1000.service/user.slice/bunc-a.scope";
    const f = fakeBus();
    handle(f.bus, { ...start, user: true, path });
    expect(f.calls.map(([m]) => m)).toEqual(["Get Version", "StartTransientUnit", "Get ControlGroup"]);
    const elsewhere = fakeBus({ controlGroup: "/somewhere/else" });
    expect(() => handle(elsewhere.bus, { ...start, user: true, path })).toThrow(/runs in \/somewhere\/else, not where bunc expects it/);
    expect(elsewhere.calls.map(([m]) => m)).toContain("StopUnit");
  });

  test("stop (a unit already gone is fine) and set", () => {
    const f = fakeBus();
    handle(f.bus, { op: "stop", unit: "u.scope", timeoutMs: 1000 });
    handle(f.bus, { op: "set", unit: "u.scope", props: [["MemoryMax", "t", "1"]] });
    expect(f.calls).toEqual([["StopUnit", ["u.scope", "replace"]], ["ResetFailedUnit", ["u.scope"]], ["SetUnitProperties", ["u.scope", true, [["MemoryMax", "t", "1"]]]]]);
    const gone: Bus = { ...f.bus, callManager: (m) => { if (m === "StopUnit") throw new DBusError("org.freedesktop.systemd1.NoSuchUnit", "no"); return []; } };
    handle(gone, { op: "stop", unit: "u.scope", timeoutMs: 1000 });
    const failed = fakeBus({ result: "failed" });
    expect(() => handle(failed.bus, { op: "stop", unit: "u.scope", timeoutMs: 1000 })).toThrow(/job ended "failed"/);
    expect(failed.calls.map(([m]) => m)).toEqual(["StopUnit", "ResetFailedUnit"]);
  });

  test("versions and bus addresses", () => {
    expect(parseVersion("252.19-1~deb12u1")).toBe(252);
    expect(parseVersion("v245.4-1.fc32")).toBe(245);
    expect(parseVersion(undefined)).toBe(-1);
    expect(busAddresses({ DBUS_SYSTEM_BUS_ADDRESS: "unix:path=/x" })).toEqual(["unix:path=/x"]);
    expect(busAddresses({}, (p) => p === "/run/systemd/private" || p === "/run/dbus/system_bus_socket")).toEqual(["unix:path=/run/dbus/system_bus_socket", "unix:path=/run/systemd/private"]);
    expect(busAddresses({}, () => false)).toEqual([]);
    // a user's instance: the session bus, else the user's bus or the instance's private socket
    expect(busAddresses({ DBUS_SESSION_BUS_ADDRESS: "unix:path=/s", DBUS_SYSTEM_BUS_ADDRESS: "unix:path=/x" }, () => true, true)).toEqual(["unix:path=/s"]);
    expect(busAddresses({ XDG_RUNTIME_DIR: "/run/user/7" }, (p) => p === "/run/user/7/systemd/private", true)).toEqual(["unix:path=/run/user/7/systemd/private"]);
    expect(busAddresses({}, () => true, true)).toEqual([]);
  });
});

describe("CgroupManager with the systemd driver (fake cgroup2 tree, recording caller)", () => {
  function setup() {
    const root = mkdtempSync(join(tmpdir(), "bunc-sd-"));
    writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids");
    const reqs: SystemdRequest[] = [];
    const call = (r: SystemdRequest) => {
      reqs.push(r);
      if (r.op === "start") {
        // systemd makes the scope's directory.
        const dir = join(root, "system.slice", "bunc-c1.scope");
        mkdirSync(dir, { recursive: true });
        for (const f of ["cgroup.procs", "memory.max", "memory.swap.max", "pids.max"]) writeFileSync(join(dir, f), "");
      }
      if (r.op === "stop") rmSync(join(root, "system.slice", "bunc-c1.scope"), { recursive: true, force: true });
    };
    return { root, reqs, call };
  }

  test("create makes nothing, apply starts the scope with the init and writes the files, destroy stops it", () => {
    const { root, reqs, call } = setup();
    const cg = CgroupManager.forContainer("c1", undefined, { root, systemd: true, systemdCall: call, euid: 0 });
    expect(cg.paths()).toEqual({ "": join(root, "system.slice/bunc-c1.scope") });
    expect(cg.create()).toBe(true);
    expect(cg.selfJoinFiles(() => true)).toEqual([]);
    expect(cg.cgroup2Dir(() => true)).toBeUndefined();
    expect(reqs).toEqual([]);
    cg.apply({ memory: { limit: 1 << 25 } } as any, 4242);
    expect(reqs[0]!.op).toBe("start");
    expect(props((reqs[0] as any).props)).toMatchObject({ PIDs: [4242], Slice: "system.slice", MemoryMax: "33554432", Delegate: true });
    const dir = join(root, "system.slice/bunc-c1.scope");
    expect(readFileSync(join(dir, "memory.max"), "utf8")).toBe("33554432");
    expect(readFileSync(join(dir, "cgroup.procs"), "utf8")).toBe("4242");
    // update: a later container's manager, from the saved state.
    const again = CgroupManager.fromPaths(cg.paths(), { root, systemdUnit: "bunc-c1.scope", systemdCall: call, euid: 0 });
    again.apply({ pids: { limit: 10 } } as any);
    expect(reqs[1]).toEqual({ op: "set", unit: "bunc-c1.scope", props: [["TasksMax", "t", "10"]] });
    expect(readFileSync(join(dir, "pids.max"), "utf8")).toBe("10");
    again.destroy();
    expect(reqs[2]).toEqual({ op: "stop", unit: "bunc-c1.scope", timeoutMs: 30000 });
    rmSync(root, { recursive: true, force: true });
  });

  test("org.systemd.property.* annotations are unit properties, after bunc's own (runc's initSystemdProps)", () => {
    const { root, reqs, call } = setup();
    const annotations = {
      "org.systemd.property.TimeoutStopSec": "90", // <name>Sec: seconds, sent as <name>USec
      "org.systemd.property.CollectMode": "'inactive-or-failed'",
      "org.systemd.property.After": "['a.service', 'b.service']",
      "org.systemd.property.DefaultDependencies": "true",
      "org.systemd.property.RuntimeMaxUSec": "uint64 5000000",
      "io.kubernetes.other": "ignored",
    };
    const cg = CgroupManager.forContainer("c1", undefined, { root, systemd: true, systemdCall: call, euid: 0, annotations });
    cg.apply({} as any, 4242);
    const sent = (reqs[0] as any).props as Prop[];
    expect(sent.slice(-5)).toEqual([
      ["TimeoutStopUSec", "t", "90000000"], ["CollectMode", "s", "inactive-or-failed"], ["After", "as", ["a.service", "b.service"]],
      ["DefaultDependencies", "b", true], ["RuntimeMaxUSec", "t", "5000000"],
    ]);
    // bunc's own DefaultDependencies=false comes first: the annotation's, later, is what systemd keeps
    expect(sent.findIndex(([n]) => n === "DefaultDependencies")).toBeLessThan(sent.length - 2);
    rmSync(root, { recursive: true, force: true });
  });

  test("a bad org.systemd.property.* annotation fails create, naming it", () => {
    const { root } = setup();
    const make = (k: string, v: string) => () => CgroupManager.forContainer("c1", undefined, { root, systemd: true, systemdCall: () => {}, euid: 0, annotations: { [k]: v } });
    expect(make("org.systemd.property.X1", "true")).toThrow(/annotations\["org.systemd.property.X1"\]: not a systemd property name/);
    expect(make("org.systemd.property.CollectMode", "'unterminated")).toThrow(/annotations\["org.systemd.property.CollectMode"\]: "'unterminated" is not a GVariant value: an unterminated string/);
    expect(make("org.systemd.property.TimeoutStopSec", "'90s'")).toThrow(/a number of seconds is needed/);
    expect(make("org.systemd.property.After", "[]")).toThrow(/an empty array needs its type/);
    expect(make("org.systemd.property.CPUWeight", "uint64 -1")).toThrow(/out of range/);
    // without the systemd driver, runc reads none of them
    expect(() => CgroupManager.forContainer("c1", undefined, { root, annotations: { "org.systemd.property.X1": "?" }, layout: { mode: "v2", hierarchies: [], unified: undefined } as any })).not.toThrow();
    rmSync(root, { recursive: true, force: true });
  });

  test("GVariant's text format: the values systemd properties take", () => {
    const { parseVariant } = require("../../src/linux/cgroups/systemd-annotations");
    expect(parseVariant("42")).toEqual({ sig: "i", value: 42 });
    expect(parseVariant("uint32 7")).toEqual({ sig: "u", value: 7 });
    expect(parseVariant("int64 -3")).toEqual({ sig: "x", value: "-3" });
    expect(parseVariant("@t 18446744073709551615")).toEqual({ sig: "t", value: "18446744073709551615" });
    expect(parseVariant("1.5")).toEqual({ sig: "d", value: 1.5 });
    expect(parseVariant("false")).toEqual({ sig: "b", value: false });
    expect(parseVariant(`"it's"`)).toEqual({ sig: "s", value: "it's" });
    expect(parseVariant(String.raw`'a\\b\'c\n'`)).toEqual({ sig: "s", value: "a\\b'c\n" });
    expect(parseVariant("@as []")).toEqual({ sig: "as", value: [] });
    expect(parseVariant("[uint64 1, 2]")).toEqual({ sig: "at", value: ["1", "2"] });
    expect(parseVariant("[('/dev/null', 'rw')]")).toEqual({ sig: "a(ss)", value: [["/dev/null", "rw"]] });
    expect(parseVariant("objectpath '/org/x'")).toEqual({ sig: "o", value: "/org/x" });
    for (const bad of ["", "[1, 'a']", "true false", "uint32 -1", "byte 256", "@b 1", "(1, 2"]) expect(() => parseVariant(bad)).toThrow();
  });

  test("an unreachable systemd is one line; a never-started unit is not stopped", () => {
    const { root } = setup();
    const reqs: SystemdRequest[] = [];
    const cg = CgroupManager.forContainer("c1", "system.slice:bunc:c1", { root, systemd: true, euid: 0, systemdCall: (r) => { reqs.push(r); throw new Error("systemd is not reachable over D-Bus (x)"); } });
    expect(() => cg.apply({} as any, 1)).toThrow("systemd: cannot start unit bunc-c1.scope: systemd is not reachable over D-Bus (x)");
    cg.destroy();
    expect(reqs.map((r) => r.op)).toEqual(["start"]);
    rmSync(root, { recursive: true, force: true });
  });

  test("rootless: the user's instance, below user@UID.service; every request says so", () => {
    const reqs: SystemdRequest[] = [];
    const root = mkdtempSync(join(tmpdir(), "bunc-sd-"));
    writeFileSync(join(root, "cgroup.controllers"), "");
    const call = (r: SystemdRequest) => { reqs.push(r); throw new Error("x"); };
    const cg = CgroupManager.forContainer("c1", undefined, { root, systemd: true, systemdCall: call, euid: 1000 });
    expect(cg.paths()).toEqual({ "": join(root, "user.slice/user-1000.slice/user@1000.service/user.slice/bunc-c1.scope") });
    expect(() => cg.apply({} as any, 1)).toThrow(/cannot start unit/);
    expect(reqs[0]).toMatchObject({ op: "start", user: true, path: "/user.slice/user-1000.slice/user@1000.service/user.slice/bunc-c1.scope" });
    const later = CgroupManager.fromPaths(cg.paths(), { root, systemdUnit: "bunc-c1.scope", systemdCall: call, euid: 1000 });
    expect(() => later.destroy()).toThrow(/cannot stop unit bunc-c1.scope: x/);
    expect(reqs[1]).toMatchObject({ op: "stop", user: true });
    // root's go to the system instance
    expect(() => CgroupManager.forContainer("c2", undefined, { root, systemd: true, systemdCall: call, euid: 0 }).apply({} as any, 1)).toThrow(/cannot start unit bunc-c2.scope/);
    expect(reqs[2]!.user).toBeUndefined();
    rmSync(root, { recursive: true, force: true });
  });

  test("only on cgroup v2", () => {
    const layout = { mode: "hybrid", hierarchies: [], controllers: {} } as any;
    expect(() => CgroupManager.forContainer("c1", undefined, { layout, systemd: true })).toThrow(/needs a cgroup v2 host \(this one is hybrid\)/);
  });
});
