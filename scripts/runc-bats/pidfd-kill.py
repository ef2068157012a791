#!/usr/bin/python3
# A stand-in for runc's tests/cmd/pidfd-kill: receives the init's pidfd on the --pidfd-socket
# it listens on, and once it gets SIGTERM sends --signal (SIGKILL by default) through it.
import argparse, os, signal, socket, sys

p = argparse.ArgumentParser()
p.add_argument("--signal", default="SIGKILL")
p.add_argument("--pid-file", default="")
p.add_argument("socket")
a = p.parse_args()
# What the shell that started this left open (bats's output) is not ours to hold.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
name = a.signal.upper()
sig = getattr(signal, name if name.startswith("SIG") else "SIG" + name)
# Held until sigwait: a SIGTERM that comes early waits rather than end this.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
if a.pid_file:
    with open(a.pid_file, "w") as f:
        f.write(f"{os.getpid()}\n")
try:
    ln = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ln.bind(a.socket)
    ln.listen(1)
    conn, _ = ln.accept()
    ln.close()
    _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    conn.close()
    if not fds:
        sys.exit("fatal error: no pidfd received")
    signal.sigwait({signal.SIGTERM})
    signal.pidfd_send_signal(fds[0], sig)
finally:
    if a.pid_file:
        try:
            os.remove(a.pid_file)
        except OSError:
            pass
