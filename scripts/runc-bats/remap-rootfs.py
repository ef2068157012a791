#!/usr/bin/python3
# A stand-in for runc's tests/cmd/remap-rootfs: chowns a bundle's rootfs from the host's ids to
# those its config's uidMappings/gidMappings give (hostID + id, as the Go helper computes it),
# each inode once, symlinks left alone, the mode set again (chown clears setuid bits).
import json, os, stat, sys

if len(sys.argv) != 2:
    sys.exit("error: exactly one bundle argument must be provided")
bundle = sys.argv[1]
with open(os.path.join(bundle, "config.json")) as f:
    spec = json.load(f)
if not spec.get("root"):
    sys.exit("error: invalid config.json: root section is null")
linux = spec.get("linux") or sys.exit("error: invalid config.json: linux section is null")
uid_map, gid_map = linux.get("uidMappings") or [], linux.get("gidMappings") or []
if not uid_map and not gid_map:
    print("skipping remapping -- no userns mappings specified")
    sys.exit(0)

def to_host(mappings, id_):
    for m in mappings:
        if m["containerID"] <= id_ < m["containerID"] + m["size"]:
            return m["hostID"] + id_
    return -1

root = os.path.join(bundle, spec["root"]["path"])
seen = set()

def remap(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or (st.st_dev, st.st_ino) in seen:
        return
    seen.add((st.st_dev, st.st_ino))
    uid, gid = to_host(uid_map, st.st_uid), to_host(gid_map, st.st_gid)
    if uid < 0 or gid < 0:
        print(f"skipping file /{os.path.relpath(path, root)}: cannot remap user {st.st_uid}:{st.st_gid} -> {uid}:{gid}")
        return
    os.lchown(path, uid, gid)
    os.chmod(path, stat.S_IMODE(st.st_mode))

remap(root)
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        remap(os.path.join(dirpath, name))
