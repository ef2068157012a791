// Test helper: a python3 console-socket receiver (runc's protocol: the pty master over SCM_RIGHTS).

/** A console socket receiver: accepts one connection, takes the fd, copies the pty output to stdout. */
export const RECEIVER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
print("name=" + msg.decode(), flush=True)
out = b""
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d: break
    out += d
sys.stdout.write(out.decode(errors="replace")); sys.stdout.flush()
`;
