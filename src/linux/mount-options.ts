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
const IGNORED = new Set(["defaults", "auto", "noauto", "user", "nouser", "users", "_netdev", "nofail", "tmpcopyup"]);

export interface ParsedMountOptions {
  flags: bigint;
  /** Flags that were explicitly cleared (rw, suid, ...), needed to compute a remount. */
  cleared: bigint;
  propagation: bigint[];
  data: string[];
  bind: boolean;
  recursive: boolean;
}

export function parseMountOptions(options: string[] = [], type?: string): ParsedMountOptions {
  let flags = 0n, cleared = 0n;
  const propagation: bigint[] = [], data: string[] = [];
  for (const opt of options) {
    const f = FLAGS[opt];
    if (f) {
      if (f[0]) flags |= f[1];
      else { flags &= ~f[1]; cleared |= f[1]; }
    } else if (PROPAGATION[opt] !== undefined) propagation.push(PROPAGATION[opt]!);
    else if (opt === "idmap" || opt === "ridmap") throw new Error(`mount option "${opt}" is not supported by bunc`);
    else if (!IGNORED.has(opt)) data.push(opt);
  }
  if (type === "bind") flags |= MS.BIND;
  return { flags, cleared, propagation, data, bind: (flags & MS.BIND) !== 0n, recursive: (flags & MS.REC) !== 0n };
}
