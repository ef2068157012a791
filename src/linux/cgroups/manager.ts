// One CgroupManager per container: its directory in every mounted hierarchy, and the
// operations the lifecycle needs (create, limits, membership, freeze, kill, stats, delete).
import { basename, dirname, join, relative } from "../../sys/paths";
import { detectLayout, parseProcCgroup, procKey, type CgroupLayout, type Hierarchy } from "./layout";
import type { LinuxResources } from "../../spec/resources";
import { CgroupError, hasFile, readCgroupFile, tryRead, writeCgroupFile, type Warn } from "./files";
import * as v1 from "./v1";
import * as v2 from "./v2";
import { applyDevicesV1 } from "./devices";
import { setDevicesV2 } from "./bpf";
import { collectStats, type Stats } from "./stats";
import { SystemdUnit, systemdPlacement, type Prop, type SystemdCaller } from "./systemd";
import { cgroup2DirOf, joinFilesOf, memberControllers, type SubCgroup } from "./membership";

interface Member { h: Hierarchy; dir: string }
import { makeDirectory, pathExists, readSubdirectories, readText, removeDirectory } from "../../sys/files";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export interface ManagerOptions {
  /** Hierarchies to use; default: detected from /proc/self/mountinfo. */
  layout?: CgroupLayout;
  /** A fake cgroup2 mount point (a directory laid out like cgroup2), used instead of the host's. */
  root?: string;
  /** Contents of /proc/self/cgroup, for relative cgroupsPath (default: read it). */
  selfCgroup?: string;
  /** Where warnings go (settings ignored, a non-empty cgroup); default: nowhere. */
  warn?: Warn;
  /** forContainer: the systemd driver (--systemd-cgroup), cgroupsPath "slice:prefix:name". */
  systemd?: boolean;
  /** fromPaths: the systemd unit the container's cgroup is (saved at create). */
  systemdUnit?: string;
  /** How the systemd driver reaches D-Bus (unit tests record it). */
  systemdCall?: SystemdCaller;
  /** --debug lines (the systemd driver's retried connects); default: none. */
  debug?: (m: string) => void;
  /** Whose systemd instance: root's is the system's, any other user's is its own (default: geteuid). */
  euid?: number;
  /** forContainer with systemd: the config's annotations (org.systemd.property.* become unit properties). */
  annotations?: Record<string, string>;
}

const ignore: Warn = () => {};

/** org.systemd.property.* annotations as unit properties (systemd-annotations.ts, loaded only when there is one). */
function annotatedProperties(annotations: Record<string, string> | undefined): Prop[] {
  if (!annotations || !Object.keys(annotations).some((k) => k.startsWith("org.systemd.property."))) return [];
  try {
    return (require("./systemd-annotations") as typeof import("./systemd-annotations")).annotationProperties(annotations);
  } catch (e: any) {
    throw new CgroupError(e.message, "annotations");
  }
}

/** The systemd driver over D-Bus, in this process; its client is loaded on first use (every create loads this module, few use systemd). */
const callSystemd: SystemdCaller = (req, debug) => (require("./systemd-dbus") as typeof import("./systemd-dbus")).callSystemd(req, debug);


const sleep = (ms: number) => Bun.sleepSync(ms);
const isSet = (o: object | undefined) => !!o && Object.values(o).some((x) => x !== undefined && x !== null);
const DENIED = new Set(["EACCES", "EPERM", "EROFS"]);

/**
 * The first existing level of the member's path, top down, that is frozen: only the v1
 * freezer hierarchy has freezer.state and only v2 has cgroup.freeze, so the others are not read.
 */
function frozenLevel({ h, dir }: Member): string | undefined {
  const file = h.version === 2 ? "cgroup.freeze" : h.controllers.includes("freezer") ? "freezer.state" : undefined;
  if (!file) return undefined;
  let cur = h.mountPoint;
  for (const part of relative(h.mountPoint, dir).split("/").filter(Boolean)) {
    cur = join(cur, part);
    if (!pathExists(cur)) return undefined;
    const value = tryRead(cur, file)?.trim();
    if (value === "FROZEN" || value === "FREEZING" || (file === "cgroup.freeze" && value === "1")) return cur;
  }
  return undefined;
}

export class CgroupManager {
  /** True when create() found no write access as a non-root user (or root of a user namespace): limits are skipped. */
  skipped = false;

  private constructor(
    readonly layout: CgroupLayout,
    private readonly members: Member[],
    private readonly warn: Warn,
    /** The systemd driver's unit (the cgroup is its scope), else undefined. */
    readonly systemd?: SystemdUnit,
  ) {}

  static forContainer(id: string, cgroupsPath: string | undefined, opts: ManagerOptions = {}): CgroupManager {
    const layout = opts.layout ?? (opts.root ? detectLayout(`1 1 0:1 / ${opts.root} rw - cgroup2 cgroup2 rw`) : detectLayout());
    if (opts.systemd) {
      // runc's systemd driver: the scope systemd will make (at apply, with the init in it).
      const h = layout.unified;
      if (layout.mode !== "v2" || !h)
        throw new CgroupError(`--systemd-cgroup: bunc's systemd driver needs a cgroup v2 host (this one is ${layout.mode})`, "linux.cgroupsPath");
      // Rootless: the user's own systemd instance, as runc's systemdUser.
      const uid = opts.euid ?? process.geteuid?.() ?? 0;
      const placement = systemdPlacement(id, cgroupsPath, uid !== 0 ? { uid } : undefined);
      const unit = new SystemdUnit(id, placement, false, opts.systemdCall ?? callSystemd, uid !== 0, opts.debug, annotatedProperties(opts.annotations));
      return new CgroupManager(layout, [{ h, dir: join(h.mountPoint, placement.path) }], opts.warn ?? ignore, unit);
    }
    const path = cgroupsPath || `/bunc/${id}`;
    if (path.split("/").includes("..")) throw new CgroupError(`linux.cgroupsPath: "${path}" must not contain ".."`, "linux.cgroupsPath");
    const absolute = path.startsWith("/");
    const self = absolute ? {} : parseProcCgroup(opts.selfCgroup ?? readText("/proc/self/cgroup"));
    const members = layout.hierarchies.map((h) => {
      if (absolute) return { h, dir: join(h.mountPoint, path) };
      // Relative: under our own cgroup, seen from this mount's root (as runc does). On a pure
      // v2 host, under its parent: our own holds processes (a systemd unit), so no controller
      // can be enabled below it (runc's fs2 defaultDirPath; joining failed EIO in Debian 12 and 13).
      const self0 = self[procKey(h)] ?? "/";
      const own = layout.mode === "v2" ? dirname(self0) : self0;
      const rel = relative(h.root, own).startsWith("..") ? own : relative(h.root, own);
      return { h, dir: join(h.mountPoint, rel, path) };
    });
    return new CgroupManager(layout, members, opts.warn ?? ignore);
  }

  /** Re-open a container's cgroups from the paths() saved at create time. */
  static fromPaths(paths: Record<string, string>, opts: ManagerOptions = {}): CgroupManager {
    const layout = opts.layout ?? (opts.root ? detectLayout(`1 1 0:1 / ${opts.root} rw - cgroup2 cgroup2 rw`) : detectLayout());
    const members = layout.hierarchies.flatMap((h) => (paths[procKey(h)] ? [{ h, dir: paths[procKey(h)]! }] : []));
    const unit = opts.systemdUnit && members[0]
      ? new SystemdUnit("", { slice: "", unit: opts.systemdUnit, path: "" }, true, opts.systemdCall ?? callSystemd, (opts.euid ?? process.geteuid?.()) !== 0, opts.debug)
      : undefined;
    return new CgroupManager(layout, members, opts.warn ?? ignore, unit);
  }

  /** Hierarchy key ("" for cgroup2, else each v1 controller, e.g. "memory", "name=systemd") -> directory. */
  paths(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { h, dir } of this.members) {
      if (h.version === 2) out[""] = dir;
      else for (const c of h.controllers) out[c] = dir;
    }
    return out;
  }

  /**
   * mkdir the cgroup in every hierarchy. An existing leaf with processes is a warning unless
   * `join`. Returns false when a non-root user (or root of a user namespace) has no write
   * access, or with `optional` (a container with a user namespace of its own) anyone.
   */
  create(opts: { join?: boolean; optional?: boolean } = {}): boolean {
    // systemd makes the scope, with the init in it (apply); a unit of that name is its error then.
    if (this.systemd) return true;
    for (const m of this.members) {
      // As runc: a warning, not an error (engines put a pod's processes there first).
      const there = pathExists(m.dir) && !opts.join ? this.procsOf(m.dir).length : 0;
      if (there) this.warn(`container's cgroup is not empty: ${there} process(es) already in ${m.dir}`);
      // A process put in a frozen cgroup (or below a frozen one) stops there: create would hang.
      const frozen = frozenLevel(m);
      if (frozen) throw new CgroupError(`linux.cgroupsPath: container's cgroup unexpectedly frozen: ${frozen}`, "linux.cgroupsPath");
    }
    const created: string[] = [];
    try {
      for (const m of this.members) {
        try {
          // ENOENT: a concurrent delete removed the shared empty parent ("/bunc") meanwhile.
          for (let attempt = 0; ; attempt++) {
            try {
              this.mkdirs(m, created);
              break;
            } catch (e: any) {
              if (e?.code !== "ENOENT" || attempt >= 5) throw e;
            }
          }
        } catch (e: any) {
          if (DENIED.has(e?.code) && (opts.optional || process.geteuid?.() !== 0 || inUserNamespace())) {
            // Said only when the config asks for resources (apply): a rootless container
            // without limits has nothing to miss.
            this.skipped = true;
            throw e;
          }
          throw new CgroupError(`cannot create cgroup ${m.dir}: ${e?.code ?? e}`, "linux.cgroupsPath", e?.code);
        }
      }
    } catch (e) {
      // Nothing half-made stays behind: remove what this call created, deepest first.
      for (const dir of created.reverse()) try { removeDirectory(dir); } catch {}
      if (this.skipped) return false;
      throw e;
    }
    return true;
  }

  /**
   * mkdir -p of the cgroup, safe against concurrent creates of siblings: an existing
   * directory is fine, and a v1 cpuset level left empty (by a racing creator that has not
   * filled it yet) is filled from its parent before anything below it is used.
   */
  private mkdirs({ h, dir }: Member, created: string[]): void {
    const rel = relative(h.mountPoint, dir).split("/").filter(Boolean);
    let cur = h.mountPoint;
    const cpuset = h.version === 1 && h.controllers.includes("cpuset");
    for (const part of rel) {
      const parent = cur;
      if (h.version === 2) enableControllers(parent, parent === h.mountPoint);
      cur = join(cur, part);
      if (makeDirectory(cur, 0o777, true)) created.push(cur);
      // A new v1 cpuset cgroup starts with no CPUs/nodes; no task can join until they are copied.
      if (cpuset) {
        for (const f of ["cpuset.cpus", "cpuset.mems"])
          if (!tryRead(cur, f)?.trim()) writeCgroupFile(cur, f, readCgroupFile(parent, f).trim(), "linux.resources.cpu");
      }
    }
  }

  /** Where a controller's files are for this container, or an error naming the setting. */
  private locate(ctrl: string): { dir: string; version: 1 | 2 } | undefined {
    const h = this.layout.controllers[ctrl];
    const m = h && this.members.find((x) => x.h === h);
    return m && { dir: m.dir, version: h!.version };
  }

  private need(ctrl: string, setting: string): { dir: string; version: 1 | 2 } {
    const loc = this.locate(ctrl);
    if (!loc) throw new CgroupError(`${setting}: the ${ctrl} cgroup controller is not available on this host`, setting);
    return loc;
  }

  private unifiedDir(): string | undefined {
    return this.members.find((m) => m.h.version === 2)?.dir;
  }

  /**
   * Write the limits. Returns false when create() skipped cgroups (rootless). With the
   * systemd driver, create's call (`initPid`) starts the scope with the init in it and the
   * limits as properties, later ones (update) set them as properties; the files follow.
   */
  apply(r: LinuxResources, initPid?: number): boolean {
    if (this.skipped) {
      if (isSet(r)) this.warn("cgroups: linux.resources ignored (no write access to the cgroup tree)");
      return false;
    }
    if (this.systemd) {
      if (!this.systemd.started) {
        if (!initPid) throw new CgroupError(`systemd: unit ${this.systemd.unit} has no process to start with`, "linux.cgroupsPath");
        this.systemd.start(initPid, r);
        // As runc: the init written to the scope too (a no-op when systemd moved it already).
        writeCgroupFile(this.members[0]!.dir, "cgroup.procs", initPid, `cgroup ${this.members[0]!.dir}`);
      } else this.systemd.set(r);
    }
    const warn = this.warn;
    if (isSet(r.memory)) {
      const { dir, version } = this.need("memory", "linux.resources.memory");
      version === 1 ? v1.memoryV1(dir, r.memory!, warn) : v2.memoryV2(dir, r.memory!, warn);
    }
    const c = r.cpu;
    if (c && isSet({ ...c, cpus: undefined, mems: undefined })) {
      const { dir, version } = this.need("cpu", "linux.resources.cpu");
      version === 1 ? v1.cpuV1(dir, c) : v2.cpuV2(dir, c);
    }
    if (c?.cpus || c?.mems) {
      const { dir, version } = this.need("cpuset", c.cpus ? "linux.resources.cpu.cpus" : "linux.resources.cpu.mems");
      version === 1 ? v1.cpusetV1(dir, c) : v2.cpusetV2(dir, c);
    }
    if (r.pids?.limit) v1.pidsLimit(this.need("pids", "linux.resources.pids").dir, r.pids.limit);
    if (isSet(r.blockIO)) {
      const loc = this.locate("blkio") ?? this.need("io", "linux.resources.blockIO");
      loc.version === 1 ? v1.blkioV1(loc.dir, r.blockIO!) : v2.ioV2(loc.dir, r.blockIO!, warn);
    }
    if (r.hugepageLimits?.length) {
      const { dir, version } = this.need("hugetlb", "linux.resources.hugepageLimits");
      v1.hugetlb(dir, r.hugepageLimits, version);
    }
    if (r.network?.classID !== undefined) v1.netClsV1(this.need("net_cls", "linux.resources.network.classID").dir, r.network.classID);
    if (r.network?.priorities?.length) v1.netPrioV1(this.need("net_prio", "linux.resources.network.priorities").dir, r.network.priorities);
    if (r.rdma && Object.keys(r.rdma).length) v1.rdma(this.need("rdma", "linux.resources.rdma").dir, r.rdma);
    if (r.devices) {
      const loc = this.locate("devices");
      if (loc?.version === 1) applyDevicesV1(loc.dir, r.devices);
      else {
        const dir = this.unifiedDir();
        if (!dir) throw new CgroupError("linux.resources.devices: no devices cgroup and no cgroup v2 hierarchy", "linux.resources.devices");
        setDevicesV2(dir, r.devices);
      }
    }
    if (r.unified && Object.keys(r.unified).length) {
      const dir = this.unifiedDir();
      if (!dir) throw new CgroupError("linux.resources.unified: this host has no cgroup v2 hierarchy", "linux.resources.unified");
      v2.unifiedV2(dir, r.unified, this.layout.unified!.controllers);
    }
    return true;
  }

  /** Move a process into the container's cgroup in every hierarchy (or those `only` selects). */
  addProcess(pid: number, only: (controllers: string[]) => boolean = () => true): void {
    if (this.skipped) return;
    for (const { h, dir } of this.members) if (only(h.controllers)) writeCgroupFile(dir, "cgroup.procs", pid, `cgroup ${dir}`);
  }

  /** The controllers of the container's hierarchies (v1: those bound, "name=systemd" included; v2: cgroup.controllers). */
  controllers(): string[] {
    return memberControllers(this.members);
  }

  /** The cgroup2 directory, when the container has one and `only` selects it (for CLONE_INTO_CGROUP). */
  cgroup2Dir(only: (controllers: string[]) => boolean, sub?: SubCgroup): string | undefined {
    if (this.skipped || (this.systemd && !this.systemd.started)) return undefined;
    return cgroup2DirOf(this.members, only, sub);
  }

  /** Files through which a process joins the hierarchies `only` selects (membership.ts). */
  selfJoinFiles(only: (controllers: string[]) => boolean, versions: (1 | 2)[] = [1, 2], sub?: SubCgroup): string[] {
    // Before its scope exists (create), the init is put there by systemd, not by itself.
    if (this.skipped || (this.systemd && !this.systemd.started)) return [];
    return joinFilesOf(this.members, only, versions, sub);
  }

  private procsOf(dir: string): number[] {
    const out: number[] = [];
    const walk = (d: string) => {
      const text = tryRead(d, "cgroup.procs");
      if (text === undefined) return;
      for (const l of text.split("\n")) if (l.trim()) out.push(Number(l));
      for (const name of readSubdirectories(d)) walk(join(d, name));
    };
    walk(dir);
    return out;
  }

  /** The primary directory for membership: the unified one when present, else the freezer's, else any. */
  private primary(): string | undefined {
    return this.unifiedDir() ?? this.locate("freezer")?.dir ?? this.members[0]?.dir;
  }

  /** Every process in the cgroup, including nested cgroups. */
  pids(): number[] {
    const dir = this.primary();
    return dir ? [...new Set(this.procsOf(dir))].sort((a, b) => a - b) : [];
  }

  private freezer(): { dir: string; version: 1 | 2 } {
    const loc = this.locate("freezer");
    if (loc?.version === 1) return loc;
    const dir = this.unifiedDir();
    if (dir && hasFile(dir, "cgroup.freeze")) return { dir, version: 2 };
    throw new CgroupError("pause: no freezer cgroup and no cgroup.freeze on this host", "freezer");
  }

  private setFrozen(frozen: boolean): void {
    const { dir, version } = this.freezer();
    const want = version === 1 ? (frozen ? "FROZEN" : "THAWED") : frozen ? "1" : "0";
    const file = version === 1 ? "freezer.state" : "cgroup.freeze";
    // v1 can stay in FREEZING while tasks are busy; write again until it settles (runc retries too).
    for (let i = 0; i < 1000; i++) {
      if (i % 10 === 0) writeCgroupFile(dir, file, want, frozen ? "pause" : "resume");
      if (this.isFrozen() === frozen) return;
      sleep(i < 10 ? 1 : 10);
    }
    throw new CgroupError(`${frozen ? "pause" : "resume"}: ${dir} did not reach ${want}`, "freezer", "ETIMEDOUT");
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  isFrozen(): boolean {
    const { dir, version } = this.freezer();
    if (version === 1) return tryRead(dir, "freezer.state")?.trim() === "FROZEN";
    return /^frozen 1$/m.test(tryRead(dir, "cgroup.events") ?? "");
  }

  /** Signal every process. SIGKILL uses cgroup.kill when the unified cgroup has it; else freeze, signal, thaw. */
  killAll(signal: number): void {
    const udir = this.unifiedDir();
    if (signal === 9 && udir && hasFile(udir, "cgroup.kill")) {
      writeCgroupFile(udir, "cgroup.kill", 1, "kill --all");
      // On a hybrid host the v1 hierarchies are the authority too: anything listed there
      // and not (yet) in the unified cgroup gets the signal directly.
      const freezer = this.locate("freezer");
      if (!freezer || freezer.version !== 1) return;
      for (const pid of this.procsOf(freezer.dir)) {
        try { process.kill(pid, 9); } catch {}
      }
      return;
    }
    let frozen = false;
    try {
      this.freeze();
      frozen = true;
    } catch {
      // No freezer: signal without it (a forking process may escape, as in runc).
    }
    try {
      for (const pid of this.pids()) {
        try {
          process.kill(pid, signal);
        } catch (e: any) {
          if (e?.code !== "ESRCH") throw e;
        }
      }
    } finally {
      if (frozen) this.thaw();
    }
  }

  stats(): Stats {
    return collectStats((c) => this.locate(c));
  }

  /** Remove the cgroup (and any nested ones) everywhere, waiting up to `timeoutMs` for exiting processes. */
  destroy(timeoutMs = 2000): void {
    const deadline = Date.now() + timeoutMs;
    const errors: string[] = [];
    if (this.systemd?.started) {
      // StopUnit (a unit already gone is fine); systemd removes the scope's cgroup.
      try {
        this.systemd.stop();
      } catch (e: any) {
        errors.push(e?.message ?? String(e));
      }
    } else if (this.systemd) return; // never started: nothing was made
    for (const { h, dir } of this.members) {
      try {
        removeTree(dir, deadline);
        // Drop an empty default "/bunc" parent; busy or shared parents stay.
        const parent = dirname(dir);
        if (basename(parent) === "bunc" && parent !== h.mountPoint) try { removeDirectory(parent); } catch {}
      } catch (e: any) {
        errors.push(`${dir}: ${e?.code ?? e}`);
      }
    }
    if (errors.length) throw new CgroupError(`cannot remove cgroup: ${errors.join("; ")}`, "delete");
  }
}

/**
 * Whether bunc runs in a user namespace other than the initial one (e.g. root of a
 * `podman run --userns=auto` container): there a cgroup tree it cannot write is as for a
 * non-root user, as runc treats it.
 */
export function inUserNamespace(uidMap: string | undefined = tryRead("/proc/self", "uid_map")): boolean {
  if (uidMap === undefined) return false;
  const lines = uidMap.trim().split("\n").map((l) => l.trim().split(/\s+/).join(" "));
  return !(lines.length === 1 && lines[0] === "0 0 4294967295");
}

/**
 * Enable in subtree_control every controller the parent has (best effort, one by one, as runc).
 * `top`: the cgroup at the mount point, which inside a container (docker-in-docker, a CI job)
 * is the container's own cgroup and holds its processes; the kernel's "no internal
 * processes" rule refuses controllers there (EBUSY) until they move into a leaf.
 */
function enableControllers(dir: string, top = false): void {
  const avail = tryRead(dir, "cgroup.controllers")?.trim().split(/\s+/).filter(Boolean) ?? [];
  const on = new Set(tryRead(dir, "cgroup.subtree_control")?.trim().split(/\s+/) ?? []);
  let evacuated = false;
  for (const c of avail) {
    if (on.has(c)) continue;
    for (;;) {
      try {
        writeCgroupFile(dir, "cgroup.subtree_control", `+${c}`, "cgroup.subtree_control");
      } catch (e: any) {
        if (top && !evacuated && e?.code === "EBUSY") {
          evacuated = true;
          if (evacuate(dir)) continue;
        }
        // e.g. a threaded or busy parent: the limit write will name what is missing.
      }
      break;
    }
  }
}

/** The leaf that the processes of a container's own cgroup move to (docker's dind uses "init" too). */
const EVACUATION_LEAF = "init";

/**
 * Moves every process of `dir` into `dir`/init, as docker's dind entrypoint does, so that
 * controllers can be enabled for children. Returns whether `dir` ended up empty.
 */
function evacuate(dir: string): boolean {
  const leaf = join(dir, EVACUATION_LEAF);
  try {
    makeDirectory(leaf);
  } catch (e: any) {
    if (e?.code !== "EEXIST") return false;
  }
  // A process may fork while others move: repeat until the list stays empty.
  for (let round = 0; round < 10; round++) {
    const pids = (tryRead(dir, "cgroup.procs") ?? "").split("\n").filter((l) => l.trim());
    if (!pids.length) return true;
    for (const pid of pids) {
      try {
        writeCgroupFile(leaf, "cgroup.procs", pid, "cgroup.procs");
      } catch (e: any) {
        if (e?.code !== "ESRCH") return false;
      }
    }
  }
  return false;
}

function removeTree(dir: string, deadline: number): void {
  if (!pathExists(dir)) return;
  for (const e of nodeFs().readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name), deadline);
  for (;;) {
    try {
      nodeFs().rmdirSync(dir);
      return;
    } catch (e: any) {
      if (e?.code === "ENOENT") return;
      if (e?.code !== "EBUSY" || Date.now() > deadline) throw e;
      sleep(10);
    }
  }
}
