// mount(8) options of config.json mounts -> mount(2) flags, propagation and data.
export const MS = {
  RDONLY: 1n, NOSUID: 2n, NODEV: 4n, NOEXEC: 8n, SYNCHRONOUS: 16n, REMOUNT: 32n, MANDLOCK: 64n,
  DIRSYNC: 128n, NOSYMFOLLOW: 256n, NOATIME: 1024n, NODIRATIME: 2048n, BIND: 4096n, MOVE: 8192n,
  REC: 16384n, SILENT: 32768n, UNBINDABLE: 1n << 17n, PRIVATE: 1n << 18n, SLAVE: 1n << 19n,
  SHARED: 1n << 20n, RELATIME: 1n << 21n, IVERSION: 1n << 23n, STRICTATIME: 1n << 24n, LAZYTIME: 1n << 25n,
} as const;

/** option -> [set?, flag] */
const FLAGS: Record<string, [boolean, bigint]> = {
  ro: [true, MS.RDONLY], rw: [false, MS.RDONLY], nosuid: [true, MS.NOSUID], suid: [false, MS.NOSUID],
  nodev: [true, MS.NODEV], dev: [false, MS.NODEV], noexec: [true, MS.NOEXEC], exec: [false, MS.NOEXEC],
  sync: [true, MS.SYNCHRONOUS], async: [false, MS.SYNCHRONOUS], remount: [true, MS.REMOUNT],
  mand: [true, MS.MANDLOCK], nomand: [false, MS.MANDLOCK], dirsync: [true, MS.DIRSYNC],
  nosymfollow: [true, MS.NOSYMFOLLOW], symfollow: [false, MS.NOSYMFOLLOW],
  noatime: [true, MS.NOATIME], atime: [false, MS.NOATIME], nodiratime: [true, MS.NODIRATIME],
  diratime: [false, MS.NODIRATIME], bind: [true, MS.BIND], rbind: [true, MS.BIND | MS.REC],
  silent: [true, MS.SILENT], loud: [false, MS.SILENT], relatime: [true, MS.RELATIME],
  norelatime: [false, MS.RELATIME], strictatime: [true, MS.STRICTATIME], nostrictatime: [false, MS.STRICTATIME],
  lazytime: [true, MS.LAZYTIME], nolazytime: [false, MS.LAZYTIME], iversion: [true, MS.IVERSION],
  noiversion: [false, MS.IVERSION],
};

export const PROPAGATION: Record<string, bigint> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC, shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC, unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options that only make sense to other runtimes or tools; accepted and ignored. */
const IGNORED = new Set(["defaults", "auto", "noauto", "user", "nouser", "users", "_netdev", "nofail"]);

/** MOUNT_ATTR_* of mount_setattr(2), for the recursive r* options (runtime spec: rro, rnosuid, ...). */
export const MOUNT_ATTR = { RDONLY: 0x1n, NOSUID: 0x2n, NODEV: 0x4n, NOEXEC: 0x8n, ATIME: 0x70n, RELATIME: 0x0n, NOATIME: 0x10n, STRICTATIME: 0x20n, NODIRATIME: 0x80n, NOSYMFOLLOW: 0x200000n } as const;

/** r-option -> [attributes to set, attributes to clear]. */
const RECURSIVE: Record<string, [bigint, bigint]> = {
  rro: [MOUNT_ATTR.RDONLY, 0n], rrw: [0n, MOUNT_ATTR.RDONLY],
  rnosuid: [MOUNT_ATTR.NOSUID, 0n], rsuid: [0n, MOUNT_ATTR.NOSUID],
  rnodev: [MOUNT_ATTR.NODEV, 0n], rdev: [0n, MOUNT_ATTR.NODEV],
  rnoexec: [MOUNT_ATTR.NOEXEC, 0n], rexec: [0n, MOUNT_ATTR.NOEXEC],
  rnodiratime: [MOUNT_ATTR.NODIRATIME, 0n], rdiratime: [0n, MOUNT_ATTR.NODIRATIME],
  rrelatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR.ATIME], rnorelatime: [MOUNT_ATTR.NOATIME, MOUNT_ATTR.ATIME],
  rnoatime: [MOUNT_ATTR.NOATIME, MOUNT_ATTR.ATIME], ratime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR.ATIME],
  rstrictatime: [MOUNT_ATTR.STRICTATIME, MOUNT_ATTR.ATIME], rnostrictatime: [MOUNT_ATTR.RELATIME, MOUNT_ATTR.ATIME],
  rnosymfollow: [MOUNT_ATTR.NOSYMFOLLOW, 0n], rsymfollow: [0n, MOUNT_ATTR.NOSYMFOLLOW],
};

/** Every option name bunc applies (for `features`). */
export const KNOWN_MOUNT_OPTIONS = () => [...Object.keys(FLAGS), ...Object.keys(PROPAGATION), ...Object.keys(RECURSIVE), "idmap", "ridmap", "tmpcopyup"].sort();

export interface ParsedMountOptions {
  /** Recursive attributes (rro, rnosuid, ...) applied with mount_setattr(AT_RECURSIVE) after the mount. */
  recursiveSet: bigint;
  recursiveClear: bigint;
  flags: bigint;
  /** Flags that were explicitly cleared (rw, suid, ...), needed to compute a remount. */
  cleared: bigint;
  propagation: bigint[];
  data: string[];
  bind: boolean;
  recursive: boolean;
  /** tmpcopyup: a tmpfs starts with a copy of the directory it covers (linux/tmpcopyup.ts). */
  copyUp: boolean;
}

export function parseMountOptions(options: string[] = [], type?: string): ParsedMountOptions {
  let flags = 0n, cleared = 0n, recursiveSet = 0n, recursiveClear = 0n, copyUp = false;
  const propagation: bigint[] = [], data: string[] = [];
  for (const opt of options) {
    const f = FLAGS[opt];
    if (f) {
      if (f[0]) flags |= f[1];
      else { flags &= ~f[1]; cleared |= f[1]; }
    } else if (PROPAGATION[opt] !== undefined) propagation.push(PROPAGATION[opt]!);
    else if (RECURSIVE[opt]) {
      const [set, clear] = RECURSIVE[opt]!;
      recursiveSet = (recursiveSet & ~clear & ~set) | set;
      recursiveClear = (recursiveClear & ~set) | clear;
    }
    else if (opt === "idmap" || opt === "ridmap") continue; // made on the host beforehand (linux/idmap.ts)
    else if (opt === "tmpcopyup") copyUp = true;
    else if (!IGNORED.has(opt)) data.push(opt);
  }
  if (type === "bind") flags |= MS.BIND;
  const bind = (flags & MS.BIND) !== 0n;
  // A bind mount takes no filesystem data: an option bunc does not know there is a mistake
  // (a misspelled r-option would otherwise be silently ignored).
  if (bind) {
    const unknown = data.find((d) => !d.includes("="));
    if (unknown !== undefined) throw new Error(`unknown mount option "${unknown}" for a bind mount`);
  }
  return { flags, cleared, propagation, data, bind, recursive: (flags & MS.REC) !== 0n, recursiveSet, recursiveClear, copyUp: copyUp && type === "tmpfs" };
}

/**
 * Filesystems that take no context= of linux.mountLabel, as runc: proc and sysfs (SELinux
 * labels them itself), mqueue (labelled after the mount through its root's xattr: older
 * kernels refuse context= there), cgroup hierarchies (runc mounts cgroup2 with its data
 * alone; cgroup v1's tmpfs is labelled, its binds are binds). A bind mount takes no data.
 */
const UNLABELLED = new Set(["proc", "sysfs", "mqueue", "cgroup", "cgroup2"]);

/**
 * The mount data with linux.mountLabel as `context="<label>"` appended (runc's
 * label.FormatMountLabel; quoted, MCS categories have commas), for the mounts runc labels:
 * tmpfs, devpts and every other new filesystem but those above. `label` is undefined
 * without SELinux (lsm.ts effectiveMountLabel): the data is left as it is.
 */
export function withMountLabel(data: string | null, type: string, label: string | undefined, bind = false): string | null {
  if (!label || bind || UNLABELLED.has(type)) return data;
  const context = `context="${label}"`;
  return data ? `${data},${context}` : context;
}
