#!/usr/bin/python3
# A stand-in for runc's tests/cmd/seccompagent: listens on -socketfile for the seccomp state a
# runtime sends for listenerPath (the OCI state as JSON, the listener fd by SCM_RIGHTS, named
# "seccompFd" in fds), then answers the container's notifications as the Go agent does: mkdir
# of NAME is done as mkdir of NAME-<metadata basename> in the process's root (or cwd), chmod,
# fchmod and fchmodat fail with ENOMEDIUM, anything else continues.
import ctypes, errno, json, os, socket, struct, sys, threading

args = sys.argv[1:]
socket_file, pid_file = "/run/seccomp-agent.socket", ""
for i, a in enumerate(args):
    for flag in ("socketfile", "pid-file"):
        for prefix in (f"-{flag}", f"--{flag}"):
            if a == prefix:
                value = args[i + 1]
            elif a.startswith(prefix + "="):
                value = a.split("=", 1)[1]
            else:
                continue
            if flag == "socketfile":
                socket_file = value
            else:
                pid_file = value
# What the shell that started this left open (bats's output) is not ours to hold.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))

# <linux/seccomp.h>: the notification ioctls, struct seccomp_notif (80 bytes) and _resp (24).
NOTIF_RECV, NOTIF_SEND, NOTIF_ID_VALID = 0xC0502100, 0xC0182101, 0x40082102
FLAG_CONTINUE = 1
MKDIR, CHMOD, FCHMOD, FCHMODAT = 83, 90, 91, 268  # x86_64
libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]


def log(msg):
    print(f"seccompagent: {msg}", file=sys.stderr, flush=True)


def ioctl(fd, req, buf):
    if libc.ioctl(fd, req, buf) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def read_string(pid, addr):
    fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    try:
        return os.pread(fd, 4096, addr).split(b"\0", 1)[0].decode()
    finally:
        os.close(fd)


def mkdir_for(pid, name, mode, metadata):
    # The Go agent resolves in the process's root with securejoin; a plain join under
    # /proc/PID/root (magic link) resolves there too for the suite's plain names.
    base = f"/proc/{pid}/root" if name.startswith("/") else f"/proc/{pid}/cwd"
    os.mkdir(os.path.join(base, f"{name}-{metadata}".lstrip("/")), mode)


def handle(fd, metadata):
    while True:
        req = ctypes.create_string_buffer(80)
        try:
            ioctl(fd, NOTIF_RECV, req)
        except OSError as e:
            if e.errno in (errno.EINTR, errno.ENOENT):
                continue
            os.close(fd)  # the filter is gone with its processes
            return
        nid, pid, _flags, nr, _arch, _ip = struct.unpack_from("QIIiIQ", req.raw)
        a = struct.unpack_from("6Q", req.raw, 32)
        val, err, flags = 0, 0, FLAG_CONTINUE
        if nr == MKDIR:
            flags = 0
            try:
                name = read_string(pid, a[0])
                ioctl(fd, NOTIF_ID_VALID, ctypes.byref(ctypes.c_uint64(nid)))
                mkdir_for(pid, name, a[1] & 0o7777, metadata)
            except OSError as e:
                log(f"mkdir for {pid}: {e}")
                val, err = -1, errno.ENOSYS
        elif nr in (CHMOD, FCHMOD, FCHMODAT):
            val, err, flags = -1, errno.ENOMEDIUM, 0
        resp = ctypes.create_string_buffer(struct.pack("QqiI", nid, val, -err if err else 0, flags))
        try:
            ioctl(fd, NOTIF_SEND, resp)
        except OSError as e:
            log(f"NOTIF_SEND: {e}")


try:
    os.remove(socket_file)
except FileNotFoundError:
    pass
if pid_file:
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
ln = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ln.bind(socket_file)
ln.listen(16)
log("waiting for seccomp file descriptors")
while True:
    conn, _ = ln.accept()
    try:
        data, fds, _, _ = socket.recv_fds(conn, 4096, 8)
    finally:
        conn.close()
    try:
        state = json.loads(data)
        names = state.get("fds") or []
        if names.count("seccompFd") != 1 or names.index("seccompFd") >= len(fds):
            raise ValueError("seccomp fd not found or malformed containerProcessState.Fds")
        fd = fds[names.index("seccompFd")]
    except ValueError as e:
        log(f"error receiving seccomp file descriptor: {e}")
        for f in fds:
            os.close(f)
        continue
    for f in fds:
        if f != fd:
            os.close(f)
    metadata = os.path.basename(state.get("metadata") or "")
    if "/" in metadata:
        metadata = "agent-generated-suffix"
    log(f"received new seccomp fd: {fd}")
    threading.Thread(target=handle, args=(fd, metadata), daemon=True).start()
