// The D-Bus half of the systemd cgroup driver: StartTransientUnit / StopUnit /
// SetUnitProperties on org.freedesktop.systemd1, waiting for the job's JobRemoved signal.
// It runs in a helper process (bunc with _BUNC_SYSTEMD set, see systemd.ts) and loads the
// npm `dbus-next` client only there. The Bus interface is what the unit tests fake.
import { existsSync } from "node:fs";
import { MIN_VERSION, type Prop, type SystemdReply, type SystemdRequest } from "./systemd";

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";

export interface Signal { path?: string; interface?: string; member?: string; body: any[] }

/** The little of a D-Bus connection the driver uses. */
export interface Bus {
  /** A method call on systemd's manager object; resolves with the reply body, rejects with the D-Bus error. */
  callManager(member: string, signature: string, body: unknown[]): Promise<any[]>;
  /** Properties.Get on the manager. */
  managerProperty(name: string): Promise<unknown>;
  /** Subscribes to the manager's signals (AddMatch + Subscribe); `on` gets each. */
  subscribe(on: (s: Signal) => void): Promise<void>;
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

/** A Bus over dbus-next (loaded here, on first use). */
/**
 * How long a connect (auth and Hello) may take: a busy PID 1 answers late (seen: over 10 s in a
 * loaded Debian 12 guest under TCG, right after a pause/resume); the helper's own deadline is 40 s.
 */
const CONNECT_TIMEOUT_MS = 25_000;

export async function connect(address: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Bus> {
  const dbus: any = await import("dbus-next");
  const { Message, Variant } = dbus;
  const bus = dbus.sessionBus({ busAddress: address });
  // dbus-next reports a failed connect or Hello as an 'error' event: wait for either. On
  // systemd's private socket there is no bus daemon, so Hello gets a D-Bus error reply:
  // that connection works all the same (dbus-next also rethrows it, unhandled: ignored here).
  process.on("unhandledRejection", () => {});
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer on ${address} within ${timeoutMs} ms`)), timeoutMs);
    bus.once("connect", () => { clearTimeout(t); resolve(); });
    bus.once("error", (e: any) => {
      clearTimeout(t);
      if (String(e?.type ?? "").startsWith("org.freedesktop.DBus.Error.")) resolve();
      else reject(e instanceof Error ? e : new Error(String(e?.message ?? e)));
    });
  });
  bus.on("error", () => {});
  const toDbus = (sig: string, v: unknown): unknown => {
    if (sig === "t") return BigInt(v as string);
    if (sig === "ay") return Buffer.from(v as number[]);
    return v;
  };
  const call = async (o: { destination: string; path: string; interface: string; member: string; signature?: string; body?: unknown[] }) => {
    const reply = await bus.call(new Message(o));
    return (reply?.body ?? []) as any[];
  };
  return {
    callManager: (member, signature, body) =>
      call({ destination: DEST, path: PATH, interface: MANAGER, member, signature, body: convert(body) }),
    async managerProperty(name) {
      const [v] = await call({ destination: DEST, path: PATH, interface: "org.freedesktop.DBus.Properties", member: "Get", signature: "ss", body: [MANAGER, name] });
      return v?.value;
    },
    async subscribe(on) {
      bus.on("message", (m: any) => { if (m.type === 4 /* SIGNAL */) on(m); });
      // No bus daemon on the private socket: signals come without a match rule there.
      try {
        await call({ destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "AddMatch", signature: "s", body: [`type='signal',sender='${DEST}',interface='${MANAGER}',member='JobRemoved'`] });
      } catch {}
      await call({ destination: DEST, path: PATH, interface: MANAGER, member: "Subscribe" });
    },
    close: () => { try { bus.disconnect(); } catch {} },
  };
  /** Props ([name, sig, value]) in a body become (sv) structs with Variants. */
  function convert(body: unknown[]): unknown[] {
    return body.map((x) => (isProps(x) ? x.map(([n, sig, v]) => [n, new Variant(sig, toDbus(sig, v))]) : x));
  }
}

const isProps = (x: unknown): x is Prop[] => Array.isArray(x) && x.length > 0 && x.every((p) => Array.isArray(p) && p.length === 3 && typeof p[1] === "string");

/** A D-Bus error's name and message in one line. */
export function describeError(e: any): string {
  const name = e?.type ?? e?.name;
  const text = e?.text ?? e?.message ?? String(e);
  return name && name !== "Error" && !String(text).includes(name) ? `${text} (${name})` : String(text);
}

const isError = (e: any, name: string) => String(e?.type ?? e?.name ?? "").endsWith(name);

/** systemd's version number ("252.19-1~deb12u1" -> 252), -1 when unknown. */
export function parseVersion(v: unknown): number {
  const m = /^"?v?(\d+)/.exec(String(v ?? ""));
  return m ? Number(m[1]) : -1;
}

/**
 * Runs a job-creating call and waits for its JobRemoved; resolves with the job's result
 * ("done", "failed", "timeout", ...). The subscription is made first, so no signal is missed.
 */
async function runJob(bus: Bus, member: string, signature: string, body: unknown[], timeoutMs: number): Promise<string> {
  const results = new Map<string, string>();
  let waiting: { job: string; resolve: (r: string) => void } | undefined;
  await bus.subscribe((s) => {
    if (s.member !== "JobRemoved") return;
    const [, job, , result] = s.body as [number, string, string, string];
    if (waiting?.job === job) waiting.resolve(result);
    else results.set(job, result);
  });
  const [job] = await bus.callManager(member, signature, body);
  if (results.has(job)) return results.get(job)!;
  return await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no JobRemoved for ${job} within ${timeoutMs} ms`)), timeoutMs);
    waiting = { job, resolve: (r) => { clearTimeout(t); resolve(r); } };
  });
}

/** One request against a connected bus. */
export async function handle(bus: Bus, req: SystemdRequest): Promise<void> {
  if (req.op === "start") {
    const props = await supported(bus, req.props);
    const start = () => runJob(bus, "StartTransientUnit", "ssa(sv)a(sa(sv))", [req.unit, "replace", props, []], req.timeoutMs);
    let result: string;
    try {
      result = await start();
    } catch (e) {
      // A leftover failed unit of that name (runc: reset it and retry once).
      if (!isError(e, "UnitExists")) throw e;
      await bus.callManager("ResetFailedUnit", "s", [req.unit]).catch(() => {});
      result = await start();
    }
    if (result !== "done") {
      await bus.callManager("ResetFailedUnit", "s", [req.unit]).catch(() => {});
      throw new Error(`the job ended "${result}"`);
    }
    // A user's instance elsewhere than logind puts it: bunc would write the wrong directory.
    if (req.user && req.path) {
      const own = String(await bus.managerProperty("ControlGroup").catch(() => ""));
      if (own && !req.path.startsWith(`${own}/`)) {
        await runJob(bus, "StopUnit", "ss", [req.unit, "replace"], req.timeoutMs).catch(() => {});
        throw new Error(`your systemd instance runs in ${own}, not where bunc expects it (${req.path})`);
      }
    }
  } else if (req.op === "stop") {
    try {
      const result = await runJob(bus, "StopUnit", "ss", [req.unit, "replace"], req.timeoutMs);
      if (result !== "done") throw new Error(`the job ended "${result}"`);
    } catch (e) {
      if (!isError(e, "NoSuchUnit")) throw e;
    } finally {
      await bus.callManager("ResetFailedUnit", "s", [req.unit]).catch(() => {});
    }
  } else {
    await bus.callManager("SetUnitProperties", "sba(sv)", [req.unit, true, await supported(bus, req.props)]);
  }
}

/** Drops the properties this systemd is too old for (they are still written to the files). */
async function supported(bus: Bus, props: Prop[]): Promise<Prop[]> {
  if (!props.some(([n]) => MIN_VERSION[n])) return props;
  const version = parseVersion(await bus.managerProperty("Version").catch(() => undefined));
  return props.filter(([n]) => !MIN_VERSION[n] || version < 0 || version >= MIN_VERSION[n]!);
}

/** The helper's body: the request from stdin, one JSON reply line on stdout, then exit. */
export async function serve(): Promise<void> {
  let reply: SystemdReply;
  try {
    const req = JSON.parse(await Bun.stdin.text()) as SystemdRequest;
    const addresses = busAddresses(process.env, existsSync, !!req.user);
    if (!addresses.length)
      throw new Error(req.user
        ? `your systemd instance is not reachable: no $DBUS_SESSION_BUS_ADDRESS, and no bus or systemd/private in $XDG_RUNTIME_DIR (${process.env.XDG_RUNTIME_DIR ?? "unset"})`
        : "systemd is not reachable: no system bus socket (/run/dbus/system_bus_socket) and no /run/systemd/private");
    let bus: Bus | undefined;
    const tried: string[] = [];
    for (const a of addresses) {
      try {
        bus = await connect(a);
        break;
      } catch (e) {
        tried.push(`${a}: ${describeError(e)}`);
      }
    }
    if (!bus) throw new Error(`systemd is not reachable over D-Bus (${tried.join("; ")})`);
    try {
      await handle(bus, req);
    } finally {
      bus.close();
    }
    reply = { ok: true };
  } catch (e) {
    reply = { ok: false, error: describeError(e) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n", () => process.exit(0));
}
