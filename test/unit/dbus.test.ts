// The D-Bus wire format against bytes dbus-next 0.10.2 wrote for the same messages (generated
// once, before bunc dropped it), and bunc's own client against a fake D-Bus server in this
// process: split and early messages, error replies, and peers that never answer.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { marshal, messageLength, splitSignature, unmarshal, Variant, type Message } from "../../src/sys/dbus-wire";
import { DBusConnection, DBusError, DBusTimeout, parseAddress } from "../../src/sys/dbus";
import { connectSystemd, handle, systemdBus } from "../../src/linux/cgroups/systemd-dbus";
import type { Scenario } from "../support/fake-dbus-server";

const hex = (...parts: string[]) => new Uint8Array(Buffer.from(parts.join(""), "hex"));
const DEST = "org.freedesktop.systemd1", PATH = "/org/freedesktop/systemd1", MANAGER = "org.freedesktop.systemd1.Manager";

const FIXTURES = {
  hello: hex(
    "6c01000100000000010000006d00000001016f00150000002f6f72672f667265656465736b746f702f44427573000000",
    "02017300140000006f72672e667265656465736b746f702e4442757300000000030173000500000048656c6c6f000000",
    "06017300140000006f72672e667265656465736b746f702e4442757300000000",
  ),
  start: hex(
    "6c0100017801000002000000b600000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64",
    "310000000000000002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e61676572",
    "0000000000000000030173001200000053746172745472616e7369656e74556e69740000000000000601730018000000",
    "6f72672e667265656465736b746f702e73797374656d6431000000000000000008016700107373612873762961287361",
    "28737629290000000c00000062756e632d612e73636f706500000000070000007265706c616365004701000000000000",
    "0b0000004465736372697074696f6e00017300001000000062756e6320636f6e7461696e657220610000000000000000",
    "0500000057616e7473000261730000001800000007000000782e736c6963650007000000792e736c6963650000000000",
    "04000000504944730002617500000000040000002a0000000800000044656c6567617465000162000100000000000000",
    "090000004d656d6f72794d61780001740000000000000000ffffffffffffffff0b000000416c6c6f7765644350557300",
    "02617900020000008f010000000000000b000000446576696365416c6c6f770005612873732900003700000000000000",
    "0d0000002f6465762f636861722f313a330000000300000072776d000000000008000000636861722d70747300000000",
    "02000000727700000c000000446576696365506f6c696379000173000600000073747269637400000000000000000000",
  ),
  get: hex(
    "6c01000134000000030000009000000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64",
    "3100000000000000020173001f0000006f72672e667265656465736b746f702e444275732e50726f7065727469657300",
    "0301730003000000476574000000000006017300180000006f72672e667265656465736b746f702e73797374656d6431",
    "00000000000000000801670002737300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e",
    "61676572000000000700000056657273696f6e00",
  ),
  set: hex(
    "6c0100015000000004000000ad00000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64",
    "310000000000000002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e61676572",
    "00000000000000000301730011000000536574556e697450726f70657274696573000000000000000601730018000000",
    "6f72672e667265656465736b746f702e73797374656d6431000000000000000008016700077362612873762900000000",
    "07000000752e73636f706500010000003800000000000000080000005461736b734d6178000174000a00000000000000",
    "0900000043505557656967687400017400000000000000006400000000000000",
  ),
  jobReply: hex(
    "6c020001260000000700000047000000050175000200000006017300040000003a312e35000000000701730018000000",
    "6f72672e667265656465736b746f702e73797374656d6431000000000000000008016700016f0000210000002f6f7267",
    "2f667265656465736b746f702f73797374656d64312f6a6f622f31323300",
  ),
  versionReply: hex(
    "6c02000119000000080000000f0000000501750003000000080167000176000001730000100000003235322e31392d31",
    "7e6465623132753100",
  ),
  jobRemoved: hex(
    "6c04000149000000090000007a00000001016f00190000002f6f72672f667265656465736b746f702f73797374656d64",
    "310000000000000002017300200000006f72672e667265656465736b746f702e73797374656d64312e4d616e61676572",
    "0000000000000000030173000a0000004a6f6252656d6f7665640000000000000801670004756f737300000000000000",
    "7b000000210000002f6f72672f667265656465736b746f702f73797374656d64312f6a6f622f3132330000000c000000",
    "62756e632d612e73636f70650000000004000000646f6e6500",
  ),
  error: hex(
    "6c030001260000000a0000003f00000004017300230000006f72672e667265656465736b746f702e73797374656d6431",
    "2e556e697445786973747300000000000501750002000000080167000173000021000000556e69742062756e632d612e",
    "73636f706520616c7265616479206578697374732e00",
  ),
  int64: hex(
    "6c0200011c0000000b000000120000000501750005000000080167000479787469000000000000000700000000000000",
    "feffffffffffffff0000000000010000fdffffff",
  ),
};

describe("D-Bus wire format", () => {
  test("method calls as dbus-next wrote them: header fields, padding, variants, arrays of structs", () => {
    expect(marshal({ type: 1, serial: 1, destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello" })).toEqual(FIXTURES.hello);
    expect(marshal({
      type: 1, serial: 2, destination: DEST, path: PATH, interface: MANAGER, member: "StartTransientUnit", signature: "ssa(sv)a(sa(sv))",
      body: ["bunc-a.scope", "replace", [
        ["Description", new Variant("s", "bunc container a")],
        ["Wants", new Variant("as", ["x.slice", "y.slice"])],
        ["PIDs", new Variant("au", [42])],
        ["Delegate", new Variant("b", true)],
        ["MemoryMax", new Variant("t", "18446744073709551615")], // a decimal string, as the driver's props carry it
        ["AllowedCPUs", new Variant("ay", [0x8f, 1])],
        ["DeviceAllow", new Variant("a(ss)", [["/dev/char/1:3", "rwm"], ["char-pts", "rw"]])],
        ["DevicePolicy", new Variant("s", "strict")],
      ], []],
    })).toEqual(FIXTURES.start);
    expect(marshal({ type: 1, serial: 3, destination: DEST, path: PATH, interface: "org.freedesktop.DBus.Properties", member: "Get", signature: "ss", body: [MANAGER, "Version"] })).toEqual(FIXTURES.get);
    expect(marshal({ type: 1, serial: 4, destination: DEST, path: PATH, interface: MANAGER, member: "SetUnitProperties", signature: "sba(sv)", body: ["u.scope", true, [["TasksMax", new Variant("t", 10n)], ["CPUWeight", new Variant("t", 100)]]] })).toEqual(FIXTURES.set);
  });

  test("replies, signals and errors read back", () => {
    expect(unmarshal(FIXTURES.jobReply)).toEqual({ type: 2, flags: 0, serial: 7, replySerial: 2, destination: ":1.5", sender: DEST, signature: "o", body: ["/org/freedesktop/systemd1/job/123"] });
    expect(unmarshal(FIXTURES.versionReply).body).toEqual([new Variant("s", "252.19-1~deb12u1")]);
    expect(unmarshal(FIXTURES.jobRemoved)).toMatchObject({ type: 4, serial: 9, path: PATH, interface: MANAGER, member: "JobRemoved", body: [123, "/org/freedesktop/systemd1/job/123", "bunc-a.scope", "done"] });
    expect(unmarshal(FIXTURES.error)).toMatchObject({ type: 3, replySerial: 2, errorName: "org.freedesktop.systemd1.UnitExists", body: ["Unit bunc-a.scope already exists."] });
    expect(unmarshal(FIXTURES.int64).body).toEqual([7, -2n, 1n << 40n, -3]);
    // its own output reads back the same (arrays of structs, variants, bytes)
    const start = unmarshal(FIXTURES.start);
    expect(start.body![2]).toContainEqual(["AllowedCPUs", new Variant("ay", new Uint8Array([0x8f, 1]))]);
    expect(start.body![2]).toContainEqual(["DeviceAllow", new Variant("a(ss)", [["/dev/char/1:3", "rwm"], ["char-pts", "rw"]])]);
    expect(start.body![3]).toEqual([]);
    for (const [k, b] of Object.entries(FIXTURES)) expect([k, messageLength(b)]).toEqual([k, b.length]);
  });

  test("dicts, big-endian input, signatures", () => {
    const m = unmarshal(marshal({ type: 4, serial: 5, path: "/", interface: "i.f", member: "M", signature: "a{sv}dn", body: [[["a", new Variant("u", 1)], ["b", new Variant("as", [])]], 1.5, -2] }));
    expect(m.body).toEqual([[["a", new Variant("u", 1)], ["b", new Variant("as", [])]], 1.5, -2]);
    // "B": a big-endian peer's reply with one u
    const be = hex("42020001", "00000004", "00000009", "0000000f", "05017500", "00000002", "08016700", "01750000", "00000020");
    expect(messageLength(be)).toBe(be.length);
    expect(unmarshal(be)).toMatchObject({ type: 2, serial: 9, replySerial: 2, body: [32] });
    expect(splitSignature("ssa(sv)a(sa(sv))")).toEqual(["s", "s", "a(sv)", "a(sa(sv))"]);
    expect(() => splitSignature("a(sv")).toThrow(/unbalanced/);
    expect(() => marshal({ type: 1, serial: 1, member: "X", signature: "ss", body: ["a"] })).toThrow(/1 values for signature "ss"/);
    expect(() => unmarshal(FIXTURES.jobReply.subarray(0, 60))).toThrow(/truncated/);
  });

  test("addresses", () => {
    expect(parseAddress("unix:path=/run/dbus/system_bus_socket")).toEqual({ path: "/run/dbus/system_bus_socket", abstract: false });
    expect(parseAddress("tcp:host=x,port=1;unix:abstract=/tmp/dbus-AbC,guid=0123")).toEqual({ path: "/tmp/dbus-AbC", abstract: true });
    expect(parseAddress("unix:path=/run/user/1000/a%20b,guid=1")).toEqual({ path: "/run/user/1000/a b", abstract: false });
    expect(() => parseAddress("tcp:host=localhost,port=1")).toThrow(/unsupported D-Bus address/);
  });
});

const dir = mkdtempSync(join(tmpdir(), "bunc-dbus-"));
let servers = 0;
const workers: Worker[] = [];
afterAll(async () => {
  // The workers gone first: one still tearing its listener down had left the directory behind.
  await Promise.all(workers.map((w) => new Promise((closed) => {
    w.addEventListener("close", closed, { once: true });
    w.terminate();
  })));
  rmSync(dir, { recursive: true, force: true });
});

/** A fake peer in a Worker (test/support/fake-dbus-server.ts): the client blocks this thread. */
async function fakeServer(scenario: Scenario): Promise<{ address: string; log: () => Promise<string[]> }> {
  const path = join(dir, `bus${++servers}`);
  const w = new Worker(new URL("../support/fake-dbus-server.ts", import.meta.url).href);
  workers.push(w);
  const next = () => new Promise<any>((resolve) => w.addEventListener("message", (e) => resolve(e.data), { once: true }));
  const ready = next();
  w.postMessage({ path, scenario });
  await ready;
  return {
    address: `unix:path=${path}`,
    log: () => {
      const got = next();
      w.postMessage("log");
      return got;
    },
  };
}

describe("bunc's D-Bus client against a fake peer", () => {
  const start = { op: "start", unit: "bunc-a.scope", props: [["PIDs", "au", [7]], ["MemoryMax", "t", "33554432"], ["AllowedCPUs", "ay", [1]]], timeoutMs: 5000 } as const;

  test("systemd's private socket: auth split over writes, Hello refused, the job's signal before the reply that comes in pieces", async () => {
    const srv = await fakeServer("systemd");
    const conn = DBusConnection.open(srv.address, 5000);
    try {
      const bus = systemdBus(conn);
      handle(bus, start as any);
      handle(bus, { op: "stop", unit: "bunc-a.scope", timeoutMs: 5000 });
      handle(bus, { op: "set", unit: "bunc-a.scope", props: [["TasksMax", "t", "10"]] });
      expect(bus.managerProperty("Version")).toBe("252.19-1~deb12u1");
    } finally {
      conn.close();
    }
    expect(await srv.log()).toEqual([
      `AUTH ${process.getuid!()}`, "Hello", "Get", "AddMatch", "Subscribe", "StartTransientUnit",
      "StopUnit", "ResetFailedUnit", "SetUnitProperties", "Get",
    ]);
  });

  test("a bus daemon: Hello answered, the signal after the reply; a leftover unit reset and started again", async () => {
    const srv = await fakeServer("daemon");
    const conn = DBusConnection.open(srv.address, 5000);
    try {
      handle(systemdBus(conn), start as any);
    } finally {
      conn.close();
    }
    const again = await fakeServer("unit-exists");
    const c2 = DBusConnection.open(again.address, 5000);
    try {
      handle(systemdBus(c2), start as any);
    } finally {
      c2.close();
    }
    expect((await again.log()).slice(2)).toEqual(["Get", "AddMatch", "Subscribe", "StartTransientUnit", "ResetFailedUnit", "StartTransientUnit"]);
  });

  test("an older sd-bus that holds the Hello read in with BEGIN: a Ping makes it read on", async () => {
    const srv = await fakeServer("held");
    const conn = DBusConnection.open(srv.address, 5000);
    try {
      // the Ping got it answered (how many were sent depends on the machine's load, not asserted)
      expect(conn.nudges).toBeGreaterThanOrEqual(1);
      handle(systemdBus(conn), start as any);
    } finally {
      conn.close();
    }
    expect((await srv.log()).slice(0, 4)).toEqual([`AUTH ${process.getuid!()}`, "Hello", "Ping", "Get"]);
  });

  test("a peer that never answers: each step bounded, the error names the address and the step", async () => {
    const auth = await fakeServer("silent-auth");
    expect(() => DBusConnection.open(auth.address, 300)).toThrow(new DBusTimeout(`${auth.address}: no answer to AUTH EXTERNAL within 300 ms`));
    const req = { ...start, props: [], timeoutMs: 300 } as any;
    for (const [scenario, error] of [
      ["silent-call", "no reply to StartTransientUnit within 300 ms"],
      ["no-signal", "no JobRemoved for /org/freedesktop/systemd1/job/1 within 300 ms"],
      ["hang-up", "the connection was closed (waiting for the reply to StartTransientUnit)"],
    ] as const) {
      const srv = await fakeServer(scenario);
      const conn = DBusConnection.open(srv.address, 5000);
      try {
        expect(() => handle(systemdBus(conn, 300), req)).toThrow(`${srv.address}: ${error}`);
      } finally {
        conn.close();
      }
    }
  });

  test("connecting: a timed-out connect is tried once more (said under --debug only); errors name each address", async () => {
    const srv = await fakeServer("silent-auth");
    const debug: string[] = [];
    const missing = `unix:path=${dir}/none`;
    expect(() => connectSystemd([missing, srv.address], (m) => debug.push(m), 200)).toThrow(
      `systemd is not reachable over D-Bus (${missing}: connect ${dir}/none: ENOENT; ${srv.address}: no answer to AUTH EXTERNAL within 200 ms)`);
    expect(await srv.log()).toEqual([`AUTH ${process.getuid!()}`, `AUTH ${process.getuid!()}`]);
    expect(debug).toEqual([`systemd: ${srv.address}: no answer to AUTH EXTERNAL within 200 ms; connecting again`]);
    const refused = await fakeServer("refuse-auth");
    expect(() => connectSystemd([refused.address])).toThrow(`${refused.address}: authentication refused ("REJECTED EXTERNAL")`);
    const ok = await fakeServer("daemon");
    connectSystemd([missing, ok.address]).close();
  });
});
