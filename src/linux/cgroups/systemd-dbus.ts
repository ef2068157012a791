// The D-Bus half of the systemd cgroup driver: StartTransientUnit / StopUnit /
// SetUnitProperties on org.freedesktop.systemd1, waiting for the job's JobRemoved signal,
// over bunc's own synchronous client (src/sys/dbus.ts), in the bunc process that needs it.
// Loaded only by --systemd-cgroup. The Bus interface is what the unit tests fake.
import { existsSync } from "node:fs";
import { CALL_TIMEOUT_MS, DBusConnection, DBusError, DBusTimeout, Variant, type Message } from "../../sys/dbus";
import { MIN_VERSION, type Prop, type SystemdRequest } from "./systemd";

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";

/** The little of a D-Bus connection the driver uses. */
export interface Bus {
  /** A method call on systemd's manager object: the reply body; throws the D-Bus error. */
  callManager(member: string, signature: string, body: unknown[]): unknown[];
  /** Properties.Get on the manager. */
  managerProperty(name: string): unknown;
  /** Asks for the manager's signals (AddMatch + Subscribe), once per connection. */
  subscribe(): void;
  /** The result ("done", "failed", ...) of `job`'s JobRemoved signal, waited for up to `timeoutMs`. */
  jobResult(job: string, timeoutMs: number): string;
  close(): void;
}

/**
 * The bus to talk to systemd on: $DBUS_SYSTEM_BUS_ADDRESS, the system bus, or (root) systemd's
 * private socket; for a user's instance, $DBUS_SESSION_BUS_ADDRESS, the user's bus or its
 * instance's private socket in $XDG_RUNTIME_DIR.
 */
export function busAddresses(env = process.env, exists = existsSync, user = false): string[] {
  if (user) {
    if (env.DBUS_SESSION_BUS_ADDRESS) return [env.DBUS_SESSION_BUS_ADDRESS];
    const run = env.XDG_RUNTIME_DIR;
    return run ? [`${run}/bus`, `${run}/systemd/private`].filter((p) => exists(p)).map((p) => `unix:path=${p}`) : [];
  }
  if (env.DBUS_SYSTEM_BUS_ADDRESS) return [env.DBUS_SYSTEM_BUS_ADDRESS];
  const out: string[] = [];
  for (const p of ["/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket"]) if (exists(p)) { out.push(`unix:path=${p}`); break; }
  if (exists("/run/systemd/private")) out.push("unix:path=/run/systemd/private");
  return out;
}

/**
 * How long a connect (auth and Hello) may take, each of two tries: a busy PID 1 answers late
 * (seen: over 10 s in a loaded Debian 12 guest under TCG, right after a pause/resume).
 */
const CONNECT_TIMEOUT_MS = 20_000;

/** A Bus over one connection; `callTimeoutMs` bounds each method call. */
export function systemdBus(conn: DBusConnection, callTimeoutMs = CALL_TIMEOUT_MS): Bus {
  let subscribed = false;
  const call = (m: Omit<Message, "type" | "serial">) => conn.call(m, callTimeoutMs);
  const manager = (member: string, signature: string, body: unknown[]) =>
    call({ destination: DEST, path: PATH, interface: MANAGER, member, signature, body: body.map(toVariants) });
  return {
    callManager: manager,
    managerProperty(name) {
      const [v] = call({ destination: DEST, path: PATH, interface: "org.freedesktop.DBus.Properties", member: "Get", signature: "ss", body: [MANAGER, name] });
      return v instanceof Variant ? v.value : v;
    },
    subscribe() {
      if (subscribed) return;
      // No bus daemon on the private socket (an error reply here): systemd sends its signals
      // to every direct connection without a match rule.
      try {
        call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "AddMatch", signature: "s", body: [`type='signal',sender='${DEST}',interface='${MANAGER}',member='JobRemoved'`] });
      } catch (e) {
        if (!(e instanceof DBusError)) throw e;
      }
      manager("Subscribe", "", []);
      subscribed = true;
    },
    jobResult(job, timeoutMs) {
      const s = conn.waitSignal((m) => m.member === "JobRemoved" && m.interface === MANAGER && m.body?.[1] === job, timeoutMs, `JobRemoved for ${job}`);
      return String(s.body![3]);
    },
    close: () => conn.close(),
  };
}

/** Props ([name, sig, value]) in a body become (sv) structs with Variants. */
function toVariants(x: unknown): unknown {
  return isProps(x) ? x.map(([n, sig, v]) => [n, new Variant(sig, v)]) : x;
}

const isProps = (x: unknown): x is Prop[] => Array.isArray(x) && x.length > 0 && x.every((p) => Array.isArray(p) && p.length === 3 && typeof p[1] === "string");

/** The first of `addresses` that answers; a connect that timed out is tried once more. */
export function connectSystemd(addresses: string[], debug?: (m: string) => void, timeoutMs = CONNECT_TIMEOUT_MS): DBusConnection {
  const tried: string[] = [];
  for (const a of addresses) {
    for (let attempt = 1; ; attempt++) {
      try {
        const conn = DBusConnection.open(a, timeoutMs);
        if (conn.nudges) debug?.(`systemd: ${a} answered Hello after ${conn.nudges} Ping(s)`);
        return conn;
      } catch (e) {
        if (e instanceof DBusTimeout && attempt === 1) {
          debug?.(`systemd: ${describeError(e)}; connecting again`);
          continue;
        }
        tried.push(String(describeError(e)).startsWith(a) ? describeError(e) : `${a}: ${describeError(e)}`);
        break;
      }
    }
  }
  throw new Error(`systemd is not reachable over D-Bus (${tried.join("; ")})`);
}

/** A D-Bus error's name and message in one line. */
export function describeError(e: any): string {
  const name = e?.type;
  const text = e?.message ?? String(e);
  return name && !String(text).includes(name) ? `${text} (${name})` : String(text);
}

const isError = (e: any, name: string) => e instanceof DBusError && e.type.endsWith(name);

/** systemd's version number ("252.19-1~deb12u1" -> 252), -1 when unknown. */
export function parseVersion(v: unknown): number {
  const m = /^"?v?(\d+)/.exec(String(v ?? ""));
  return m ? Number(m[1]) : -1;
}

/**
 * Runs a job-creating call and waits for its JobRemoved: the job's result ("done", "failed",
 * "timeout", ...). The subscription is made first, so no signal is missed; one that comes
 * before the call's reply is kept by the connection.
 */
function runJob(bus: Bus, member: string, signature: string, body: unknown[], timeoutMs: number): string {
  bus.subscribe();
  const [job] = bus.callManager(member, signature, body) as [string];
  return bus.jobResult(job, timeoutMs);
}

const resetFailed = (bus: Bus, unit: string) => {
  try {
    bus.callManager("ResetFailedUnit", "s", [unit]);
  } catch {}
};

/** One request against a connected bus. */
export function handle(bus: Bus, req: SystemdRequest): void {
  if (req.op === "start") {
    const props = supported(bus, req.props);
    const start = () => runJob(bus, "StartTransientUnit", "ssa(sv)a(sa(sv))", [req.unit, "replace", props, []], req.timeoutMs);
    let result: string;
    try {
      result = start();
    } catch (e) {
      // A leftover failed unit of that name (runc: reset it and retry once).
      if (!isError(e, "UnitExists")) throw e;
      resetFailed(bus, req.unit);
      result = start();
    }
    if (result !== "done") {
      resetFailed(bus, req.unit);
      throw new Error(`the job ended "${result}"`);
    }
    // A user's instance elsewhere than logind puts it: bunc would write the wrong directory.
    if (req.user && req.path) {
      let own = "";
      try {
        own = String(bus.managerProperty("ControlGroup") ?? "");
      } catch {}
      if (own && !req.path.startsWith(`${own}/`)) {
        try {
          runJob(bus, "StopUnit", "ss", [req.unit, "replace"], req.timeoutMs);
        } catch {}
        throw new Error(`your systemd instance runs in ${own}, not where bunc expects it (${req.path})`);
      }
    }
  } else if (req.op === "stop") {
    try {
      const result = runJob(bus, "StopUnit", "ss", [req.unit, "replace"], req.timeoutMs);
      if (result !== "done") throw new Error(`the job ended "${result}"`);
    } catch (e) {
      if (!isError(e, "NoSuchUnit")) throw e;
    } finally {
      resetFailed(bus, req.unit);
    }
  } else {
    bus.callManager("SetUnitProperties", "sba(sv)", [req.unit, true, supported(bus, req.props)]);
  }
}

/** Drops the properties this systemd is too old for (they are still written to the files). */
function supported(bus: Bus, props: Prop[]): Prop[] {
  if (!props.some(([n]) => MIN_VERSION[n])) return props;
  let version = -1;
  try {
    version = parseVersion(bus.managerProperty("Version"));
  } catch {}
  return props.filter(([n]) => !MIN_VERSION[n] || version < 0 || version >= MIN_VERSION[n]!);
}

/** A request to the system's systemd (or, `req.user`, the caller's own instance), in this process. */
export function callSystemd(req: SystemdRequest, debug?: (m: string) => void): void {
  const addresses = busAddresses(process.env, existsSync, !!req.user);
  if (!addresses.length)
    throw new Error(req.user
      ? `your systemd instance is not reachable: no $DBUS_SESSION_BUS_ADDRESS, and no bus or systemd/private in $XDG_RUNTIME_DIR (${process.env.XDG_RUNTIME_DIR ?? "unset"})`
      : "systemd is not reachable: no system bus socket (/run/dbus/system_bus_socket) and no /run/systemd/private");
  const conn = connectSystemd(addresses, debug);
  try {
    handle(systemdBus(conn), req);
  } catch (e) {
    throw new Error(describeError(e));
  } finally {
    conn.close();
  }
}
