#!/usr/bin/python3
# A stand-in for runc's tests/cmd/fs-idmap: can the file system under PATH take an ID-mapped
# mount? open_tree(OPEN_TREE_CLONE), then mount_setattr(MOUNT_ATTR_IDMAP) with the user
# namespace of a child mapped 0 -> 65536 (65536 ids). The error goes to stderr in Go's wording
# (lower case: the suite's requires_idmap_fs matches "invalid argument").
import ctypes, os, struct, sys

SYS_OPEN_TREE, SYS_MOUNT_SETATTR, SYS_UNSHARE = 428, 442, 272  # x86_64
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC, AT_EMPTY_PATH, AT_FDCWD = 1, 0o2000000, 0x1000, -100
MOUNT_ATTR_IDMAP, CLONE_NEWUSER = 0x100000, 0x10000000
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def fail(what):
    err = ctypes.get_errno()
    sys.exit(f"fatal error: {what}: {os.strerror(err).lower()}")


if len(sys.argv) != 2:
    sys.exit(f"usage: {sys.argv[0]} path_to_mount_set_attr")
src = sys.argv[1].encode()
tree = libc.syscall(SYS_OPEN_TREE, AT_FDCWD, ctypes.c_char_p(src), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)
if tree < 0:
    fail(f'error calling open_tree "{sys.argv[1]}"')

ready_r, ready_w = os.pipe()
done_r, done_w = os.pipe()
child = os.fork()
if child == 0:
    os.close(ready_r)
    os.close(done_w)
    if libc.syscall(SYS_UNSHARE, CLONE_NEWUSER) < 0:
        os._exit(1)
    os.write(ready_w, b"1")
    os.read(done_r, 1)  # until the parent is done with our namespace
    os._exit(0)
os.close(ready_w)
os.close(done_r)
try:
    if os.read(ready_r, 1) != b"1":
        sys.exit("fatal error: failed to run the helper: unshare(CLONE_NEWUSER)")
    for kind in ("uid", "gid"):
        with open(f"/proc/{child}/{kind}_map", "w") as f:
            f.write("0 65536 65536\n")
    userns = os.open(f"/proc/{child}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    attr = ctypes.create_string_buffer(struct.pack("QQQQ", MOUNT_ATTR_IDMAP, 0, 0, userns))
    if libc.syscall(SYS_MOUNT_SETATTR, tree, ctypes.c_char_p(b""), AT_EMPTY_PATH, attr, 32) < 0:
        fail("error calling mount_setattr")
finally:
    os.close(done_w)
    os.waitpid(child, 0)
