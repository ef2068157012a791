// Unix sockets with fd passing (SCM_RIGHTS): the console socket of runc's protocol and
// the seccomp agent's socket both receive an fd this way.
import { check, checkedSyscall, cstr, errno, libc, SyscallError, ptr } from "./libc";
import { O, SOCK_CLOEXEC } from "./arch";

const AF_UNIX = 1, AF_NETLINK = 16, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, NETLINK_ROUTE = 0, SOL_SOCKET = 1, SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000; // not O_CLOEXEC: that bit means nothing to recvmsg

/** A NETLINK_ROUTE socket (close-on-exec) in the calling thread's network namespace. */
export function netlinkRouteSocket(): number {
  return check("socket(AF_NETLINK)", libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
}

/** A connected pair of close-on-exec unix stream sockets. */
export function socketPair(): [number, number] {
  const sv = new Int32Array(2);
  check("socketpair", libc.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ptr(sv)));
  return [sv[0]!, sv[1]!];
}

/**
 * Connects a SOCK_STREAM unix socket to `path` (before pivot_root when the path is the host's).
 * `abstract`: a name in the abstract namespace. `nonblock`: a full listen backlog is EAGAIN
 * instead of a connect that blocks until the server accepts.
 */
export function connectUnix(path: string, opts: { abstract?: boolean; nonblock?: boolean; datagram?: boolean } = {}): number {
  const [addr, len] = unixAddress(path, opts.abstract);
  const fd = check("socket", libc.socket(AF_UNIX, (opts.datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | (opts.nonblock ? O.NONBLOCK : 0), 0));
  if (libc.connect(fd, ptr(addr), len) < 0) {
    const e = new SyscallError("connect", errno(), path);
    libc.close(fd);
    throw e;
  }
  return fd;
}

/** struct sockaddr_un for `path` (abstract: a leading NUL), and its length. */
function unixAddress(path: string, abstract = false): [Uint8Array, number] {
  const name = abstract ? new Uint8Array([0, ...new TextEncoder().encode(path)]) : cstr(path);
  if (name.length > 108) throw new Error(`unix socket path too long (${name.length} of 108 bytes): ${path}`);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  return [addr, 2 + name.length];
}

/** A close-on-exec, non-blocking unix datagram socket bound at `path`. */
export function bindUnixDatagram(path: string): number {
  const [addr, len] = unixAddress(path);
  const fd = check("socket", libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | O.NONBLOCK, 0));
  if (libc.bind(fd, ptr(addr), len) < 0) {
    const e = new SyscallError("bind", errno(), path);
    libc.close(fd);
    throw e;
  }
  return fd;
}

const MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000, EAGAIN = 11, EINTR = 4;

/** Sends what the socket takes now: the count (0 when it is full). A closed peer is EPIPE, not SIGPIPE. */
export function sendSome(sock: number, data: Uint8Array, what?: string): number {
  for (;;) {
    const n = Number(libc.send(sock, ptr(data), BigInt(data.length), MSG_DONTWAIT | MSG_NOSIGNAL));
    if (n >= 0) return n;
    const e = errno();
    if (e === EAGAIN) return 0;
    if (e !== EINTR) throw new SyscallError("send", e, what);
  }
}

/** Receives what is there now into `buf`: the count, 0 at end of stream, -1 when nothing is there yet. */
export function recvSome(sock: number, buf: Uint8Array, what?: string): number {
  for (;;) {
    const n = Number(libc.recv(sock, ptr(buf), BigInt(buf.length), MSG_DONTWAIT));
    if (n >= 0) return n;
    const e = errno();
    if (e === EAGAIN) return -1;
    if (e !== EINTR) throw new SyscallError("recv", e, what);
  }
}

/** Sends `data` with one fd attached. */
export function sendFd(sock: number, fd: number, payload: string | Uint8Array, what?: string): void {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const iov = new BigUint64Array([BigInt(ptr(data)), BigInt(data.length)]);
  // cmsghdr { size_t len; int level; int type; int fd; } padded to CMSG_SPACE(4) = 24
  const control = new Uint8Array(24);
  const cv = new DataView(control.buffer);
  cv.setBigUint64(0, 20n, true);
  cv.setInt32(8, SOL_SOCKET, true);
  cv.setInt32(12, SCM_RIGHTS, true);
  cv.setInt32(16, fd, true);
  // msghdr { name, namelen, iov, iovlen, control, controllen, flags } = 56 bytes
  const msg = new BigUint64Array(7);
  msg[2] = BigInt(ptr(iov));
  msg[3] = 1n;
  msg[4] = BigInt(ptr(control));
  msg[5] = 24n;
  const sent = check("sendmsg", libc.sendmsg(sock, ptr(msg), 0), what);
  if (Number(sent) !== data.length) throw new Error(`short write on ${what ?? "socket"} (${sent} of ${data.length})`);
}

/** Receives one message and the fd attached to it (blocking). */
export function recvFd(sock: number): { fd: number; data: string } {
  const got = recvMaybeFd(sock);
  if (got.fd === undefined) throw new Error("no fd received on the socket");
  return { fd: got.fd, data: new TextDecoder().decode(got.data) };
}

/** Receives one message (blocking; empty at EOF) and the fd attached to it, if any. */
export function recvMaybeFd(sock: number): { fd?: number; data: Uint8Array } {
  const buf = new Uint8Array(4096);
  const iov = new BigUint64Array([BigInt(ptr(buf)), BigInt(buf.length)]);
  const control = new Uint8Array(24);
  const msg = new BigUint64Array(7);
  msg[2] = BigInt(ptr(iov));
  msg[3] = 1n;
  msg[4] = BigInt(ptr(control));
  msg[5] = 24n;
  const n = Number(check("recvmsg", libc.recvmsg(sock, ptr(msg), MSG_CMSG_CLOEXEC)));
  const cv = new DataView(control.buffer);
  const fd = msg[5]! >= 20n && cv.getInt32(12, true) === SCM_RIGHTS ? cv.getInt32(16, true) : undefined;
  return { fd, data: buf.subarray(0, n) };
}

/** runc's --pidfd-socket: a pidfd of `pid` sent over SCM_RIGHTS to the socket at `path`. */
export function sendPidfd(path: string, pid: number): void {
  const pidfd = Number(checkedSyscall("pidfd_open", [pid, 0], String(pid)));
  try {
    const sock = connectUnix(path);
    try {
      sendFd(sock, pidfd, "pidfd", `--pidfd-socket ${path}`);
    } finally {
      libc.close(sock);
    }
  } finally {
    libc.close(pidfd);
  }
}
