// A fake D-Bus peer for test/unit/dbus.test.ts, run as a Worker: bunc's client is synchronous
// and blocks the test's thread, so the server needs an event loop of its own. It speaks the
// auth lines and answers the calls the systemd driver makes, the way a scenario says.
import { marshal, messageLength, NO_REPLY_EXPECTED, unmarshal, Variant, type Message } from "../../src/sys/dbus-wire";

declare const self: Worker;

export type Scenario =
  | "systemd" // systemd's private socket (sd-bus as the server): Hello and AddMatch get errors; JobRemoved comes before StartTransientUnit's reply
  | "daemon" // a bus daemon: Hello gets a unique name; the job's signal comes after the reply
  | "unit-exists" // the first StartTransientUnit: org.freedesktop.systemd1.UnitExists
  | "silent-auth" // accepts the connection, never answers AUTH
  | "silent-call" // answers auth and Hello, never StartTransientUnit
  | "no-signal" // answers StartTransientUnit, never sends its JobRemoved
  | "hang-up" // closes the connection on StartTransientUnit
  | "refuse-auth" // REJECTED
  | "held"; // as "systemd", but BEGIN is answered late and a message read with it waits for more bytes (older sd-bus)

const enc = new TextEncoder();
const log: string[] = [];
let serial = 100, jobs = 0, startErrors = 0;

self.onmessage = (e: MessageEvent) => {
  if (e.data === "log") return self.postMessage(log);
  const { path, scenario } = e.data as { path: string; scenario: Scenario };
  Bun.listen({ unix: path, socket: { open: (s) => { (s as any).st = { buf: new Uint8Array(0), authed: false }; }, data: (s, d) => onData(s, d, scenario) } });
  self.postMessage("ready");
};

/** Writes `bytes` in pieces, a few ms apart, as a slow peer's replies arrive. */
function inPieces(s: any, bytes: Uint8Array, pieces: number, after = 0): number {
  const size = Math.ceil(bytes.length / pieces);
  for (let i = 0; i < pieces; i++) setTimeout(() => s.write(bytes.subarray(i * size, (i + 1) * size)), after + i * 5);
  return after + pieces * 5;
}

function onData(s: any, data: Uint8Array, scenario: Scenario): void {
  const st = s.st as { buf: Uint8Array; authed: boolean; held?: boolean };
  st.buf = new Uint8Array([...st.buf, ...data]);
  st.held = false; // more bytes: what waited is read now
  while (!st.authed) {
    const end = st.buf.indexOf(0x0a);
    if (end < 0) return;
    const line = new TextDecoder().decode(st.buf.subarray(0, end)).replace(/^\0/, "").trimEnd();
    st.buf = st.buf.slice(end + 1);
    const auth = /^AUTH EXTERNAL ([0-9a-f]+)$/.exec(line);
    if (auth) {
      log.push(`AUTH ${Buffer.from(auth[1]!, "hex").toString()}`);
      if (scenario === "silent-auth") return;
      if (scenario === "refuse-auth") return void s.write("REJECTED EXTERNAL\r\n");
      // the OK line split over three writes
      inPieces(s, enc.encode("OK 0123456789abcdef0123456789abcdef\r\n"), 3);
      // An older sd-bus: the BEGIN sent with AUTH is taken only with the next bytes (the
      // Hello), and a message read in with BEGIN then waits for more bytes still.
      if (scenario === "held") return;
    } else if (line === "BEGIN") {
      st.authed = true;
      // An older sd-bus: a message that came in one read with BEGIN waits for more bytes.
      if (scenario === "held" && st.buf.length) st.held = true;
    }
  }
  if (st.held) return;
  for (;;) {
    const len = messageLength(st.buf);
    if (len === undefined || st.buf.length < len) return;
    const m = unmarshal(st.buf.subarray(0, len));
    st.buf = st.buf.slice(len);
    log.push(m.member!);
    if (!(m.flags! & NO_REPLY_EXPECTED)) answer(s, m, scenario);
  }
}

function answer(s: any, m: Message, scenario: Scenario): void {
  const reply = (signature = "", body: unknown[] = []) => marshal({ type: 2, serial: ++serial, replySerial: m.serial, signature, body });
  const error = (name: string, text: string) => marshal({ type: 3, serial: ++serial, replySerial: m.serial, errorName: name, signature: "s", body: [text] });
  const jobRemoved = (job: string, unit: string) =>
    marshal({ type: 4, serial: ++serial, path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager", member: "JobRemoved", signature: "uoss", body: [jobs, job, unit, "done"] });
  // An unrelated signal the client must step over (a body it never needs).
  const noise = () => marshal({ type: 4, serial: ++serial, path: "/org/freedesktop/systemd1/unit/x", interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", signature: "sa{sv}as", body: ["org.freedesktop.systemd1.Unit", [["ActiveState", new Variant("s", "active")]], []] });
  switch (m.member) {
    case "Hello":
      return void s.write(scenario === "daemon" ? reply("s", [":1.42"]) : error("org.freedesktop.DBus.Error.UnknownObject", "Unknown object '/org/freedesktop/DBus'."));
    case "AddMatch":
      return void s.write(scenario === "daemon" ? reply() : error("org.freedesktop.DBus.Error.UnknownObject", "Unknown object '/org/freedesktop/DBus'."));
    case "Get":
      return void s.write(reply("v", [new Variant("s", "252.19-1~deb12u1")]));
    case "StartTransientUnit":
    case "StopUnit": {
      if (scenario === "silent-call") return;
      if (scenario === "hang-up") return void s.end();
      const unit = (m.body as string[])[0]!;
      if (m.member === "StartTransientUnit" && scenario === "unit-exists" && !startErrors++)
        return void s.write(error("org.freedesktop.systemd1.UnitExists", `Unit ${unit} was already loaded or has a fragment file.`));
      const job = `/org/freedesktop/systemd1/job/${++jobs}`;
      if (scenario === "systemd") {
        // the signals first, then the reply in pieces
        s.write(new Uint8Array([...noise(), ...jobRemoved(job, unit)]));
        inPieces(s, reply("o", [job]), 4);
      } else if (scenario === "no-signal") {
        s.write(new Uint8Array([...reply("o", [job]), ...noise()]));
      } else {
        const t = inPieces(s, reply("o", [job]), 2);
        setTimeout(() => s.write(new Uint8Array([...noise(), ...jobRemoved(job, unit)])), t + 20);
      }
      return;
    }
    default:
      return void s.write(reply()); // Subscribe, ResetFailedUnit, SetUnitProperties
  }
}
