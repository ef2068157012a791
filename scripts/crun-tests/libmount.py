# Stand-in for util-linux's Python binding, which Debian does not package and crun's
# test_mounts.py imports for one call: Table(path).find_target(target).vfs_options/.fs_options,
# read from a mountinfo file (the last mount on the target, as libmount finds it backwards).
class _Fs:
    def __init__(self, vfs_options, fs_options):
        self.vfs_options, self.fs_options = vfs_options, fs_options


class Table:
    def __init__(self, path):
        self.rows = []
        with open(path) as f:
            for line in f:
                fields = line.split()
                if "-" not in fields:
                    continue
                dash = fields.index("-")
                if dash < 6 or len(fields) < dash + 4:
                    continue
                self.rows.append((fields[4], fields[5], fields[dash + 3]))

    def find_target(self, target):
        for mountpoint, vfs, fs in reversed(self.rows):
            if mountpoint == target:
                return _Fs(vfs, fs)
        return None
