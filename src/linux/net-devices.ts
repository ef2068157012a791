// linux.netDevices (runtime spec 1.3): host network devices moved into the container's
// network namespace (renamed as asked) at create, and back to the host at delete. bunc
// speaks rtnetlink itself: one RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME moves and
// renames a device in one step.
import type { Config } from "../spec/schema";
import { netlinkRouteSocket } from "../sys/socket";
import { errnoName } from "../sys/errno";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const RTM_NEWLINK = 16, RTM_GETLINK = 18, NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLMSG_ERROR = 2;
const IFLA_IFNAME = 3, IFLA_NET_NS_FD = 28;

/** Host name -> name in the container. */
export type NetDevices = Record<string, string>;

export function plannedNetDevices(c: Config): NetDevices {
  const out: NetDevices = {};
  for (const [host, d] of Object.entries(c.linux.netDevices ?? {})) out[host] = d?.name || host;
  return out;
}

const NAME = /^[^/\s:]{1,15}$/;

/** At create: each device exists on the host, names are valid and distinct, and the container has a network namespace of its own. */
export function checkNetDevices(c: Config, isHostNetns: (path: string) => boolean): void {
  const devs = plannedNetDevices(c);
  if (!Object.keys(devs).length) return;
  const netns = c.linux.namespaces.find((n) => n.type === "network");
  if (!netns || (netns.path && isHostNetns(netns.path)))
    throw new Error("linux.netDevices: needs a network namespace of the container's own");
  const seen = new Set<string>();
  for (const [host, name] of Object.entries(devs)) {
    const at = `linux.netDevices[${JSON.stringify(host)}]`;
    if (!NAME.test(host) || host === "." || host === "..") throw new Error(`${at}: invalid device name`);
    if (!NAME.test(name) || name === "." || name === "..") throw new Error(`${at}.name: invalid interface name ${JSON.stringify(name)}`);
    if (!nodeFs().existsSync(`/sys/class/net/${host}`)) throw new Error(`${at}: no such network device on the host`);
    if (seen.has(name)) throw new Error(`${at}.name: ${JSON.stringify(name)} is used twice`);
    seen.add(name);
  }
}

function ifindexOnHost(name: string): number {
  return Number(nodeFs().readFileSync(`/sys/class/net/${name}/ifindex`, "utf8").trim());
}

/** RTM_NEWLINK for `index`: into the namespace of `nsFd`, named `name`. */
function moveMessage(index: number, nsFd: number, name: string): Uint8Array {
  const nameBytes = new TextEncoder().encode(name + "\0");
  const attr = (type: number, payload: Uint8Array) => {
    const len = 4 + payload.length;
    const out = new Uint8Array((len + 3) & ~3);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, len, true);
    dv.setUint16(2, type, true);
    out.set(payload, 4);
    return out;
  };
  const fdBytes = new Uint8Array(new Int32Array([nsFd]).buffer);
  const attrs = [attr(IFLA_NET_NS_FD, fdBytes), attr(IFLA_IFNAME, nameBytes)];
  const len = 16 + 16 + attrs.reduce((n, a) => n + a.length, 0);
  const msg = new Uint8Array(len);
  const dv = new DataView(msg.buffer);
  dv.setUint32(0, len, true); // nlmsghdr
  dv.setUint16(4, RTM_NEWLINK, true);
  dv.setUint16(6, NLM_F_REQUEST | NLM_F_ACK, true);
  dv.setUint32(8, 1, true);
  // ifinfomsg: family 0, type 0, index, flags 0, change 0
  dv.setInt32(20, index, true);
  let off = 32;
  for (const a of attrs) { msg.set(a, off); off += a.length; }
  return msg;
}

/** One request and its first reply, on a NETLINK_ROUTE socket made in the calling thread's network namespace. */
function roundTrip(msg: Uint8Array): DataView {
  const fd = netlinkRouteSocket();
  try {
    nodeFs().writeSync(fd, msg);
    const buf = new Uint8Array(16384);
    return new DataView(buf.buffer, 0, nodeFs().readSync(fd, buf));
  } finally {
    nodeFs().closeSync(fd);
  }
}

/** Sends one request; throws on a NACK. */
function request(msg: Uint8Array, what: string): void {
  const r = roundTrip(msg);
  if (r.byteLength >= 20 && r.getUint16(4, true) === NLMSG_ERROR) {
    const err = -r.getInt32(16, true);
    if (err !== 0) throw new Error(`${what}: ${errnoName(err)}`);
  }
}

/** At create (from the host): every device into the namespace of the init `pid`. */
export function moveInto(pid: number, devs: NetDevices): void {
  if (!Object.keys(devs).length) return;
  const ns = nodeFs().openSync(`/proc/${pid}/ns/net`, "r");
  try {
    for (const [host, name] of Object.entries(devs))
      request(moveMessage(ifindexOnHost(host), ns, name), `linux.netDevices[${JSON.stringify(host)}]: moving it into the container`);
  } finally {
    nodeFs().closeSync(ns);
  }
}

/**
 * At delete, while the init lives: every device back to the host under its own name. The
 * request is made from a socket in the container's namespace (the calling thread joins it
 * for that and comes back), since the index there is the container's.
 */
export function moveBack(pid: number, devs: NetDevices, warn: (m: string) => void): void {
  if (!Object.keys(devs).length) return;
  const { LinuxSyscalls } = require("../sys/syscalls") as typeof import("../sys/syscalls");
  const sys = new LinuxSyscalls();
  const own = nodeFs().openSync("/proc/self/ns/net", "r");
  const theirs = nodeFs().openSync(`/proc/${pid}/ns/net`, "r");
  try {
    for (const [host, name] of Object.entries(devs)) {
      sys.setns(theirs, 0x40000000 /* CLONE_NEWNET */);
      try {
        const index = containerIfindex(name);
        if (index === undefined) continue; // gone with the container (a virtual device dies with its namespace)
        request(moveMessage(index, own, host), `linux.netDevices[${JSON.stringify(host)}]: moving it back to the host`);
      } catch (e: any) {
        warn(e.message);
      } finally {
        sys.setns(own, 0x40000000);
      }
    }
  } finally {
    nodeFs().closeSync(own);
    nodeFs().closeSync(theirs);
  }
}

/** The index of `name` in the calling thread's network namespace (RTM_GETLINK by name), or undefined. */
function containerIfindex(name: string): number | undefined {
  const nameBytes = new TextEncoder().encode(name + "\0");
  const alen = 4 + nameBytes.length;
  const len = 32 + ((alen + 3) & ~3);
  const msg = new Uint8Array(len);
  const dv = new DataView(msg.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, RTM_GETLINK, true);
  dv.setUint16(6, NLM_F_REQUEST, true);
  dv.setUint32(8, 2, true);
  dv.setUint16(32, alen, true);
  dv.setUint16(34, IFLA_IFNAME, true);
  msg.set(nameBytes, 36);
  const r = roundTrip(msg);
  return r.byteLength >= 32 && r.getUint16(4, true) === RTM_NEWLINK ? r.getInt32(20, true) : undefined;
}
