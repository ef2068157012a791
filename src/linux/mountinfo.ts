// The mount table of a process, /proc/<pid>/mountinfo (proc(5)), parsed in one place:
//   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   id par dev root mnt   options    optional.. - type source  super options
import { readText } from "../sys/files";

export interface MountInfo {
  mountId: number;
  parentId: number;
  major: number;
  minor: number;
  /** The directory of the filesystem that forms this mount's root ("/" unless a bind of a subtree). */
  root: string;
  mountPoint: string;
  /** Per-mount options as written ("rw,nosuid,relatime"). */
  options: string;
  /** Propagation and other tagged fields: "shared:1", "master:2", "propagate_from:3", "unbindable". */
  optional: string[];
  fstype: string;
  source: string;
  /**
   * Per-superblock options as written: values may hold escapes (a "," in an overlay
   * lowerdir is "\054"), so split on "," before unescaping a value.
   */
  superOptions: string;
}

/** The text of /proc/<pid>/mountinfo (the caller's own by default). */
export function readMountInfo(pid: number | "self" = "self"): string {
  return readText(`/proc/${pid}/mountinfo`);
}

/** The kernel writes space, tab, newline and backslash in paths as octal escapes ("\040"). */
export function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

/** Every well-formed line of `text`, in order (the order mounts were made); others are skipped. */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    const mount = parseLine(line);
    if (mount) out.push(mount);
  }
  return out;
}

function parseLine(line: string): MountInfo | undefined {
  const f = line.split(" ");
  // Paths are escaped, so the first lone "-" after the six fixed fields ends the optional ones.
  const sep = f.indexOf("-", 6);
  if (sep < 0 || f.length < sep + 4) return undefined;
  const dev = /^(\d+):(\d+)$/.exec(f[2]!);
  if (!dev) return undefined;
  return {
    mountId: Number(f[0]),
    parentId: Number(f[1]),
    major: Number(dev[1]),
    minor: Number(dev[2]),
    root: unescapeOctal(f[3]!),
    mountPoint: unescapeOctal(f[4]!),
    options: f[5]!,
    optional: f.slice(6, sep),
    fstype: unescapeOctal(f[sep + 1]!),
    source: unescapeOctal(f[sep + 2]!),
    superOptions: f[sep + 3]!,
  };
}
