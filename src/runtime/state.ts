// Container state on disk: one directory per container under --root, state.json
// written atomically (tmp + rename). The status is never stored: it is derived from
// the init process (alive, same start time) and the exec fifo.
import type { StdioPipes } from "./stdio-relay";
import { flock } from "../sys/flock";
import { O } from "../sys/arch";
import { closeFd, isDirectory, makeDirectories, makeDirectory, openPath, pathExists, readDirectory, readText, readTextIf, removeDirectory, renamePath, tryRemove, writeText } from "../sys/files";
import type { Config } from "../spec/schema";
import { BuncError, oneLine } from "../sys/errors";
import type { Status } from "./status";

const ENOENT = 2, ESRCH = 3;

export const OCI_VERSION = "1.3.0";

// A container's state goes through sys/files; node:fs (~0.9 ms of start-up) is loaded only
// to remove a state directory holding more than bunc puts there.
const fs = () => require("node:fs") as typeof import("node:fs");
/** `dir/name` for a state directory's entries (no node:path for a join). */
const under = (dir: string, name: string) => (dir.endsWith("/") ? dir + name : `${dir}/${name}`);

export interface StoredState {
  ociVersion: string;
  id: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused PID from our init. */
  pidStartTime: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** The config as it was at create: later edits of config.json have no effect. */
  config: Config;
  /** Cgroup directory per hierarchy ("" = cgroup2), as created. */
  cgroupPaths?: Record<string, string>;
  /** The systemd driver's unit (--systemd-cgroup at create): update, delete go through systemd. */
  systemdUnit?: string;
  /** linux.netDevices moved into the container (host name -> container name), moved back at delete. */
  netDevices?: Record<string, string>;
  /** Extra fds passed to the container (for exec). */
  preserveFds?: number;
  /** create --no-new-keyring: exec keeps the caller's session keyring too (absent: joins `_ses.<id>`). */
  noNewKeyring?: boolean;
  /**
   * Set while `create` runs (it holds the directory's lock), cleared by its last write: a
   * record still marked when the lock is free is what a killed create left behind.
   */
  creating?: boolean;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_+.-]*$/;

export function validateId(id: string | undefined): string {
  if (!id) throw new BuncError("container id cannot be empty");
  if (!ID_PATTERN.test(id) || id === "." || id === ".." || id.length > 1024)
    throw new BuncError(`invalid container id ${oneLine(JSON.stringify(id), 80)}: use letters, digits and _ + . - (no "/" or "..", at most 1024)`);
  return id;
}

export function stateDir(root: string, id: string): string {
  return under(root, validateId(id));
}

export const FIFO = "exec.fifo";
export const STATE_FILE = "state.json";
/** The seccomp filter compiled at create, which exec installs again (runtime/saved-filter.ts). */
export const SECCOMP_FILE = "seccomp.bpf";
/** sd_notify's directory (shown in the container at /run/notify) and the socket start binds in it (notify-socket.ts). */
export const NOTIFY_DIR = "notify", NOTIFY_SOCKET_FILE = "notify/notify.sock";

/** The fields of /proc/<pid>/stat that bunc reads (proc(5)); times in clock ticks. */
export interface ProcStat {
  comm: string;
  state: string;
  ppid: number;
  ttyNr: number;
  /** CPU time used, user + system. */
  cpuTicks: number;
  threads: number;
  /** Since boot, as a string: the init's is stored to tell a reused PID from it. */
  startTime: string;
  vsizeBytes: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let s: string;
  try {
    const text = readTextIf(`/proc/${pid}/stat`, ENOENT, ESRCH); // gone: no error object built
    if (text === undefined) return undefined;
    s = text;
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields after it start after the last ")".
  const close = s.lastIndexOf(")");
  const f = s.slice(close + 2).split(" "); // f[0] is field 3 of proc(5)
  return {
    comm: s.slice(s.indexOf("(") + 1, close), state: f[0]!, ppid: Number(f[1]), ttyNr: Number(f[4]),
    cpuTicks: Number(f[11]) + Number(f[12]), threads: Number(f[17]), startTime: f[19]!, vsizeBytes: Number(f[20]),
  };
}

/**
 * Fields 3 (state) and 22 (starttime) of a /proc/<pid>/stat line, cut out without splitting
 * all 52: every status reads them, and each command's JavaScript heap counts (README,
 * Performance: past 64 blocks JavaScriptCore starts a thread that makes more resident).
 */
export function stateAndStartTime(stat: string): { state: string; startTime: string } | undefined {
  // The comm may hold spaces and parentheses: field 3 follows its last ")".
  let at = stat.lastIndexOf(")") + 2;
  if (at < 2 || at >= stat.length) return undefined;
  const state = stat[at]!;
  for (let field = 3; field < 22; field++) {
    at = stat.indexOf(" ", at) + 1;
    if (at === 0) return undefined;
  }
  const end = stat.indexOf(" ", at);
  return { state, startTime: stat.slice(at, end < 0 ? undefined : end) };
}

export function isAlive(pid: number, startTime: string): boolean {
  if (pid <= 0) return false;
  let st;
  try {
    const text = readTextIf(`/proc/${pid}/stat`, ENOENT, ESRCH); // gone: no error object built
    if (text === undefined) return false;
    st = stateAndStartTime(text);
  } catch {
    return false;
  }
  return !!st && st.startTime === startTime && st.state !== "Z" && st.state !== "X";
}

/** Frozen per the freezer of v1 or cgroup.freeze of v2 (read directly: `state` stays light). */
function isFrozen(paths: Record<string, string>): boolean {
  try {
    if (paths.freezer) return readText(under(paths.freezer, "freezer.state")).trim() !== "THAWED";
    if (paths[""]) return /^frozen 1$/m.test(readText(under(paths[""], "cgroup.events")));
  } catch {}
  return false;
}

export class Container {
  /** The pty master, when this process created the container with a relayed terminal. */
  consoleMaster?: number;
  /** bunc's ends of the process's stdio pipes, when this process created it with relayStdio in a user namespace. */
  stdioPipes?: StdioPipes;
  constructor(readonly root: string, readonly dir: string, public state: StoredState) {}

  get id() { return this.state.id; }
  get pid() { return this.state.pid; }


  /** Set when this process holds the container's lock (no create can be running then). */
  lockedByUs = false;

  status(): Status {
    if (this.state.creating) return !this.lockedByUs && isLockedByOther(this.dir) ? "creating" : "stopped";
    if (!isAlive(this.state.pid, this.state.pidStartTime)) return "stopped";
    if (pathExists(under(this.dir, FIFO))) return "created";
    if (this.state.cgroupPaths && isFrozen(this.state.cgroupPaths)) return "paused";
    return "running";
  }

  /** The state JSON of `bunc state`: the spec's fields plus runc's rootfs, created and owner. */
  view() {
    const status = this.status();
    const s = this.state;
    return {
      ociVersion: s.ociVersion, id: s.id, pid: status === "stopped" ? 0 : s.pid, status, bundle: s.bundle,
      rootfs: s.rootfs, created: s.created, owner: s.owner, ...(s.annotations && Object.keys(s.annotations).length ? { annotations: s.annotations } : {}),
    };
  }

  hookState(status: Status = this.status()) {
    const s = this.state;
    return { ociVersion: s.ociVersion, id: s.id, status, pid: status === "stopped" ? undefined : s.pid, bundle: s.bundle, annotations: s.annotations ?? {} };
  }

  save(): void {
    writeStateAtomically(this.dir, this.state);
  }

  /** What a state directory holds (state.json, the fifo, a temporary file) unlinked, then the directory; anything else: a recursive removal. */
  remove(): void {
    try {
      // Not every container has each file: a missing one builds no error object (tryRemove).
      for (const name of [STATE_FILE, FIFO, SECCOMP_FILE, `.${STATE_FILE}.tmp`, NOTIFY_SOCKET_FILE]) tryRemove(under(this.dir, name), false, ENOENT);
      tryRemove(under(this.dir, NOTIFY_DIR), true, ENOENT);
      removeDirectory(this.dir);
    } catch (e: any) {
      if (e?.code !== "ENOENT") fs().rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** A PID namespace made for the container: the kernel ends every process in it with the init. */
export function ownPidNamespace(state: StoredState): boolean {
  return state.config.linux.namespaces.some((n) => n.type === "pid" && !n.path);
}

export function writeStateAtomically(dir: string, state: StoredState): void {
  const tmp = under(dir, `.${STATE_FILE}.tmp`);
  writeText(tmp, JSON.stringify(state), 0o600);
  renamePath(tmp, under(dir, STATE_FILE));
}

export function ensureRoot(root: string): void {
  makeDirectories(root, 0o700);
}

/** Claims the id: mkdir is atomic, so of two creates of one id exactly one wins. */
export function claimStateDir(root: string, id: string): string {
  ensureRoot(root);
  const dir = stateDir(root, id);
  try {
    makeDirectory(dir, 0o700);
  } catch (e: any) {
    if (e.code === "EEXIST") throw new BuncError(`container with id "${id}" already exists`);
    throw new BuncError(`cannot create state directory ${dir}: ${e.code ?? e.message}`);
  }
  return dir;
}

export function loadContainer(root: string, id: string): Container {
  const dir = stateDir(root, id);
  let text: string;
  try {
    text = readText(under(dir, STATE_FILE));
  } catch (e: any) {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") throw new BuncError(`container "${id}" does not exist`);
    throw new BuncError(`cannot read state of "${id}": ${e.code ?? e.message}`);
  }
  try {
    return new Container(root, dir, JSON.parse(text));
  } catch {
    throw new BuncError(`state of "${id}" is corrupt: ${under(dir, STATE_FILE)}`);
  }
}

export function listContainers(root: string): Container[] {
  let names: string[];
  try {
    names = readDirectory(root);
  } catch {
    return [];
  }
  const out: Container[] = [];
  for (const name of names.sort()) {
    try {
      if (isDirectory(under(root, name))) out.push(loadContainer(root, name));
    } catch {
      // a container being created (no state.json yet) or removed meanwhile
    }
  }
  return out;
}

/** Runs `fn` on the container while holding its lock (see lockContainer). */
export function withContainer<T>(root: string, id: string, fn: (c: Container) => T): T {
  const unlock = lockContainer(root, id);
  try {
    const c = loadContainer(root, id);
    c.lockedByUs = true;
    return fn(c);
  } finally {
    unlock();
  }
}

/** Serializes commands on one container: an exclusive flock on its state directory. */
export function lockContainer(root: string, id: string): () => void {
  return lockStateDir(stateDir(root, id), id);
}

export function lockStateDir(dir: string, id = dir): () => void {
  let fd: number;
  try {
    fd = openPath(dir, O.DIRECTORY | O.CLOEXEC);
  } catch (e: any) {
    if (e.code === "ENOENT") throw new BuncError(`container "${id}" does not exist`);
    throw e;
  }
  try {
    flock(fd, { exclusive: true, wait: true, path: dir });
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return () => closeFd(fd);
}

/** Whether another process holds the directory's lock (a create under way). */
function isLockedByOther(dir: string): boolean {
  let fd: number;
  try {
    fd = openPath(dir, O.DIRECTORY | O.CLOEXEC);
  } catch {
    return false;
  }
  try {
    return !flock(fd, { exclusive: true, wait: false, path: dir });
  } finally {
    closeFd(fd); // also releases the lock if we got it
  }
}
