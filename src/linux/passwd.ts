// The user database, /etc/passwd (passwd(5)), parsed in one place:
//   name:password:UID:GID:GECOS:directory:shell
import { readText } from "../sys/files";

export interface PasswdEntry {
  name: string;
  uid: number;
  gid?: number;
  gecos?: string;
  /** Undefined when the line stops before the directory field (an empty field is ""). */
  home?: string;
  shell?: string;
}

/**
 * The entries of `text`, in order. As glibc, blank lines and "#" comments are skipped, and
 * so is a line without a numeric UID (a truncated "name:x" or an empty UID is not uid 0).
 */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [name = "", , uid = "", gid, gecos, home, shell] = line.split(":");
    if (!/^\d+$/.test(uid)) continue;
    out.push({ name, uid: Number(uid), gid: gid && /^\d+$/.test(gid) ? Number(gid) : undefined, gecos, home, shell });
  }
  return out;
}

/** /etc/passwd of the current root ("" when there is none or it cannot be read). */
export function readPasswd(): string {
  try {
    return readText("/etc/passwd");
  } catch {
    return "";
  }
}

/** The name of `uid` (its first entry), if it has one. */
export function userName(uid: number, passwd: string = readPasswd()): string | undefined {
  return parsePasswd(passwd).find((e) => e.uid === uid)?.name;
}

/**
 * The process's environment as runc makes it (libcontainer/env.go): a name given more than
 * once is set once, to its last value, where that last one stands; an empty HOME counts as
 * unset, and an unset HOME comes from the container's /etc/passwd. `passwd` may be a
 * function, called only then (exec reads the file through the container's root).
 */
export function withHome(env: string[], uid: number, passwd?: string | (() => string)): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  let home = false;
  for (let i = env.length - 1; i >= 0; i--) {
    const kv = env[i]!;
    const eq = kv.indexOf("=");
    const name = eq < 0 ? kv : kv.slice(0, eq);
    if (seen.has(name)) continue;
    seen.add(name);
    if (name === "HOME") {
      if (eq === kv.length - 1) continue;
      home = true;
    }
    out.push(kv);
  }
  out.reverse();
  if (!home) out.push(`HOME=${homeDir(uid, typeof passwd === "function" ? passwd() : passwd) || "/"}`);
  return out;
}

/** The home directory of `uid`: its first entry that has the field, possibly "". */
export function homeDir(uid: number, passwd: string = readPasswd()): string | undefined {
  return parsePasswd(passwd).find((e) => e.uid === uid && e.home !== undefined)?.home;
}
