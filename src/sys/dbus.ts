// bunc's own D-Bus client, synchronous like the lifecycle that uses it (the systemd cgroup
// driver): a unix socket, EXTERNAL authentication, method calls whose replies are matched by
// serial, and the signals that arrive meanwhile kept for whoever waits for one. Every wait is
// a poll() with a deadline, and a timeout names the address and the step it was waiting for.
import { pollFd, POLLIN, POLLOUT } from "./io";
import { libc, SyscallError } from "./libc";
import { connectUnix, recvSome, sendSome } from "./socket";
import { marshal, MessageType, messageLength, NO_REPLY_EXPECTED, unmarshal, type Message } from "./dbus-wire";

export { Variant, type Message } from "./dbus-wire";

/** An error reply: its D-Bus name (org.freedesktop.systemd1.NoSuchUnit, ...) and text. */
export class DBusError extends Error {
  constructor(readonly type: string, text: string) {
    super(text || type);
    this.name = "DBusError";
  }
}

/** A step that got no answer before its deadline. */
export class DBusTimeout extends Error {
  override name = "DBusTimeout";
}

/** How long a method call may wait for its reply by default (a busy PID 1 under emulation is slow). */
export const CALL_TIMEOUT_MS = 25_000;
/** Hello unanswered this long: nudge the peer, and again at each interval. */
const NUDGE_AFTER_MS = 500, NUDGE_EVERY_MS = 2_000;
const BUS = "org.freedesktop.DBus", BUS_PATH = "/org/freedesktop/DBus";

/** The socket of a D-Bus address ("unix:path=/run/dbus/system_bus_socket,guid=..."; the first unix entry of a list). */
export function parseAddress(address: string): { path: string; abstract: boolean } {
  for (const entry of address.split(";")) {
    const [transport, rest = ""] = entry.split(/:(.*)/s) as [string, string?];
    if (transport !== "unix") continue;
    const keys = new Map(rest.split(",").map((kv) => kv.split(/=(.*)/s).map((x) => decodeURIComponent(x ?? "")) as [string, string]));
    if (keys.get("path")) return { path: keys.get("path")!, abstract: false };
    if (keys.get("abstract")) return { path: keys.get("abstract")!, abstract: true };
  }
  throw new Error(`unsupported D-Bus address "${address}" (only unix:path= and unix:abstract=)`);
}

const now = () => performance.now();

export class DBusConnection {
  /** Signals received while waiting for something else, oldest first. */
  readonly signals: Message[] = [];
  /** How many times Hello's wait sent a Ping to make the peer read (see nudge). */
  nudges = 0;
  private buf = new Uint8Array(0);
  private serial = 0;
  private readonly chunk = new Uint8Array(64 * 1024);

  private constructor(private fd: number, readonly address: string) {}

  /**
   * Connects, authenticates (EXTERNAL, as this uid) and says Hello, all within `timeoutMs`.
   * A peer that is not a bus daemon (systemd's private socket) answers Hello with an error:
   * connected all the same.
   */
  static open(address: string, timeoutMs: number): DBusConnection {
    const deadline = now() + timeoutMs;
    const c = new DBusConnection(connectBy(address, deadline, timeoutMs), address);
    try {
      const uid = String(process.getuid?.() ?? 0);
      // BEGIN goes with AUTH, as sd-bus sends it: systemd (sd-bus as the server) then starts the
      // connection right after its OK, before anything else arrives. Sent after the OK, BEGIN
      // could share one read with the Hello behind it, and sd-bus leaves a message that came
      // in with BEGIN unread until more bytes arrive (the guests' "no answer" flake).
      c.sendAll(new TextEncoder().encode(`\0AUTH EXTERNAL ${Buffer.from(uid).toString("hex")}\r\nBEGIN\r\n`), deadline, "AUTH EXTERNAL", timeoutMs);
      const line = c.readLine(deadline, "AUTH EXTERNAL", timeoutMs);
      if (!line.startsWith("OK ")) throw new Error(`${address}: authentication refused ("${line}")`);
      try {
        c.exchange({ destination: BUS, path: BUS_PATH, interface: BUS, member: "Hello" }, deadline, timeoutMs, () => c.nudge(deadline, timeoutMs));
      } catch (e) {
        if (!(e instanceof DBusError)) throw e;
      }
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /**
   * A Ping that wants no reply: bytes that make a peer which holds our Hello unread in its
   * buffer (an older sd-bus that took it in with BEGIN) read and answer it.
   */
  private nudge(deadline: number, shownMs: number): void {
    this.nudges++;
    const ping = { type: MessageType.METHOD_CALL, flags: NO_REPLY_EXPECTED, serial: ++this.serial, destination: BUS, path: BUS_PATH, interface: "org.freedesktop.DBus.Peer", member: "Ping" };
    this.sendAll(marshal(ping), deadline, "Ping", shownMs);
  }

  /** A method call: the reply's body, or a DBusError for an error reply. */
  call(m: Omit<Message, "type" | "serial">, timeoutMs = CALL_TIMEOUT_MS): unknown[] {
    return this.exchange(m, now() + timeoutMs, timeoutMs);
  }

  private exchange(m: Omit<Message, "type" | "serial">, deadline: number, shownMs: number, nudge?: () => void): unknown[] {
    const serial = ++this.serial;
    const what = `reply to ${m.member}`;
    this.sendAll(marshal({ ...m, type: MessageType.METHOD_CALL, serial }), deadline, what, shownMs);
    for (;;) {
      const r = this.next(deadline, what, shownMs, nudge);
      if (r.replySerial !== serial || (r.type !== MessageType.METHOD_RETURN && r.type !== MessageType.ERROR)) continue;
      if (r.type === MessageType.ERROR) throw new DBusError(r.errorName ?? "", typeof r.body?.[0] === "string" ? r.body[0] : "");
      return r.body ?? [];
    }
  }

  /** The first signal `match` takes, kept or yet to come (it is removed from `signals`). */
  waitSignal(match: (s: Message) => boolean, timeoutMs: number, what: string): Message {
    const deadline = now() + timeoutMs;
    for (;;) {
      const i = this.signals.findIndex(match);
      if (i >= 0) return this.signals.splice(i, 1)[0]!;
      this.next(deadline, what, timeoutMs);
    }
  }

  close(): void {
    if (this.fd >= 0) libc.close(this.fd);
    this.fd = -1;
  }

  /** The next message; a signal is also kept in `signals`. */
  private next(deadline: number, what: string, shownMs: number, nudge?: () => void): Message {
    for (;;) {
      const len = messageLength(this.buf);
      if (len !== undefined && this.buf.length >= len) {
        const raw = this.buf.subarray(0, len);
        this.buf = this.buf.slice(len);
        const m = unmarshal(raw, false);
        if (m.type === MessageType.SIGNAL) {
          // One a reader cannot decode is someone else's business: dropped, not fatal.
          try {
            this.signals.push(unmarshal(raw));
          } catch {}
          return m;
        }
        return unmarshal(raw);
      }
      this.fill(deadline, what, shownMs, nudge);
    }
  }

  /** The authentication protocol's next line (without its CRLF). */
  private readLine(deadline: number, what: string, shownMs: number): string {
    for (;;) {
      const end = this.buf.indexOf(0x0a);
      if (end >= 0) {
        const line = new TextDecoder().decode(this.buf.subarray(0, end)).replace(/\r$/, "");
        this.buf = this.buf.slice(end + 1);
        return line;
      }
      this.fill(deadline, `answer to ${what}`, shownMs);
    }
  }

  /** Waits (until the deadline) for more bytes and appends them; `nudge` is called when they are slow to come. */
  private fill(deadline: number, what: string, shownMs: number, nudge?: () => void): void {
    let nudgeAt = now() + NUDGE_AFTER_MS;
    for (;;) {
      const n = recvSome(this.fd, this.chunk, this.address);
      if (n === 0) throw new Error(`${this.address}: the connection was closed (waiting for the ${what})`);
      if (n > 0) {
        const next = new Uint8Array(this.buf.length + n);
        next.set(this.buf);
        next.set(this.chunk.subarray(0, n), this.buf.length);
        this.buf = next;
        return;
      }
      const left = Math.ceil(deadline - now());
      if (left <= 0) throw new DBusTimeout(`${this.address}: no ${what} within ${shownMs} ms`);
      if (pollFd(this.fd, POLLIN, nudge ? Math.max(1, Math.min(left, Math.ceil(nudgeAt - now()))) : left)) continue;
      if (nudge && now() >= nudgeAt) {
        nudge();
        nudgeAt = now() + NUDGE_EVERY_MS;
      }
    }
  }

  private sendAll(data: Uint8Array, deadline: number, what: string, shownMs: number): void {
    for (let off = 0; off < data.length; ) {
      const n = sendSome(this.fd, data.subarray(off), this.address);
      off += n;
      if (n > 0) continue;
      const left = Math.ceil(deadline - now());
      if (left <= 0 || !pollFd(this.fd, POLLOUT, left)) throw new DBusTimeout(`${this.address}: could not send ${what} within ${shownMs} ms`);
    }
  }
}

/** The connected (non-blocking) socket; a full listen backlog (EAGAIN) is tried again until the deadline. */
function connectBy(address: string, deadline: number, shownMs: number): number {
  const { path, abstract } = parseAddress(address);
  for (;;) {
    try {
      return connectUnix(path, { abstract, nonblock: true });
    } catch (e) {
      if (!(e instanceof SyscallError && e.code === "EAGAIN")) throw e;
      if (now() >= deadline) throw new DBusTimeout(`${address}: connect not accepted within ${shownMs} ms`);
      Bun.sleepSync(10);
    }
  }
}
