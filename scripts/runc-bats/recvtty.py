#!/usr/bin/python3
# A stand-in for runc's tests/cmd/recvtty (a Go program the offline run of runc's bats suite
# does not build): receives pty masters on a unix socket (SCM_RIGHTS). --mode null reads every
# one to nowhere; single (the default) relays the first to stdout (and stdin to it) until the
# terminal closes, with ONLCR off as recvtty's.
import os, socket, sys, termios, threading

args = sys.argv[1:]
pidfile, mode, nostdin, path = None, "single", False, None
i = 0
while i < len(args):
    a = args[i]
    if a in ("--pid-file", "--mode"):
        if a == "--pid-file":
            pidfile = args[i + 1]
        else:
            mode = args[i + 1]
        i += 2
        continue
    if a.startswith("--pid-file="):
        pidfile = a.split("=", 1)[1]
    elif a.startswith("--mode="):
        mode = a.split("=", 1)[1]
    elif a == "--no-stdin":
        nostdin = True
    else:
        path = a
    i += 1

# What the shell that started this left open (bats's own output among them) is not ours to
# hold: a test that fails before it kills this stand-in would keep bats waiting on it.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(16)
if pidfile:
    with open(pidfile, "w") as f:
        f.write(str(os.getpid()))


def receive(conn):
    # None: the runtime connected and failed before it sent a master (as recvtty, not fatal).
    _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    conn.close()
    return fds[0] if fds else None


def drain(fd, out=None):
    try:
        while True:
            b = os.read(fd, 65536)
            if not b:
                return
            if out is not None:
                os.write(out, b)
    except OSError:
        return  # EIO: the terminal's last holder closed it


if mode == "null":
    while True:
        conn, _ = listener.accept()
        master = receive(conn)
        if master is not None:
            threading.Thread(target=drain, args=(master,), daemon=True).start()
else:
    conn, _ = listener.accept()
    listener.close()
    master = receive(conn)
    t = termios.tcgetattr(master)
    t[1] &= ~termios.ONLCR
    termios.tcsetattr(master, termios.TCSANOW, t)
    if not nostdin:
        threading.Thread(target=drain, args=(0, master), daemon=True).start()
    drain(master, 1)
    os._exit(0)
