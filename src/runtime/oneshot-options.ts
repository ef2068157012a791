// The one-shot's docker-like options (`bunc run --rootfs ... -v SRC:DST -e K=V --memory 64m`,
// and the library's run()/create() options of the same meaning): each is checked before
// anything is made, with one line naming the option and what is wrong, then applied to the
// one-shot's config.json. Loaded only by `run --rootfs` and the library.
import { existsSync, lstatSync, readFileSync, realpathSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { BuncError } from "../sys/errors";

/** A bind mount of a host path (a relative source is the caller's directory). */
export interface BindMount { type?: "bind"; source: string; destination: string; readonly?: boolean }
/** A tmpfs; `size` as docker's (`64m`) or bytes. */
export interface TmpfsMount { type: "tmpfs"; destination: string; size?: string | number; mode?: number; readonly?: boolean }
export type MountOption = string | BindMount | TmpfsMount;

export interface ResourceOptions {
  /** Memory limit: bytes, or docker's `64m`, `1g` (1024-based). */
  memory?: number | string;
  /** CPUs as docker's --cpus: 0.5 is half of one CPU (a CFS quota over a 100 ms period). */
  cpus?: number | string;
  /** The most processes (and threads) at once. */
  pids?: number | string;
}

/** What the one-shot options ask for, as the CLI and the library give them. */
export interface OneShotSettings {
  /** Bind mounts and tmpfs: objects, or docker's `-v` strings (`SRC:DST[:ro]`). */
  mounts?: MountOption[];
  /** docker's --tmpfs strings: `DST[:size=64m,mode=1777,...]`. */
  tmpfs?: string[];
  /** Merged over the image's environment: an object, or `KEY=VALUE` strings (`KEY` alone: this process's value). */
  env?: Record<string, string> | string[];
  cwd?: string;
  /** `{ uid, gid }`, a uid, or `"UID[:GID]"` (names are looked up in the image's /etc/passwd and /etc/group). */
  user?: { uid: number; gid: number; umask?: number; additionalGids?: number[] } | number | string;
  /** "none" (a network namespace with only lo) or "host" (the host's, with its /etc/resolv.conf and /etc/hosts read-only). */
  network?: "none" | "host";
  resources?: ResourceOptions;
  /** A read-only root filesystem. */
  readOnly?: boolean;
}

/** How each setting is named in errors: the CLI's flags, or the library's option names. */
export interface Labels { volume: string; tmpfs: string; env: string; envFile: string; cwd: string; user: string; network: string; memory: string; cpus: string; pids: string }
export const CLI_LABELS: Labels = { volume: "-v/--volume", tmpfs: "--tmpfs", env: "-e/--env", envFile: "--env-file", cwd: "-w/--workdir", user: "-u/--user", network: "--net", memory: "--memory", cpus: "--cpus", pids: "--pids-limit" };
export const API_LABELS: Labels = { volume: "mounts", tmpfs: "tmpfs", env: "env", envFile: "envFile", cwd: "cwd", user: "user", network: "network", memory: "resources.memory", cpus: "resources.cpus", pids: "resources.pids" };

/** The checked settings, ready to apply. */
export interface OneShotPlan {
  mounts: any[];
  env: string[];
  cwd?: string;
  user?: { uid: number | string; gid?: number | string; umask?: number; additionalGids?: number[]; label: string };
  network?: "none" | "host";
  memory?: number;
  cpus?: number;
  pids?: number;
  readOnly?: boolean;
}

const fail = (label: string, value: unknown, what: string): never => {
  const shown = typeof value === "string" ? value : JSON.stringify(value);
  throw new BuncError(`${label} ${shown}: ${what}`);
};

const TMPFS_FLAGS = new Set(["ro", "rw", "noexec", "exec", "nosuid", "suid", "nodev", "dev", "noatime", "atime", "relatime", "strictatime"]);
const SIZE = /^(\d+(?:\.\d+)?)\s?([kmgtp])?i?b?$/i;

/** docker's RAMInBytes: `64m`, `1.5g`, `512k`, `100000` (bytes), 1024-based. */
export function parseBytes(v: string | number): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v > 0 ? v : undefined;
  const m = SIZE.exec(v.trim());
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * 1024 ** " kmgtp".indexOf((m[2] ?? " ").toLowerCase()));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function destination(label: string, raw: unknown, d: unknown): string {
  if (typeof d !== "string" || !d) return fail(label, raw, "the destination is missing");
  if (!d.startsWith("/")) return fail(label, raw, `the destination ${d} must be an absolute path`);
  if (d.split("/").includes("..")) return fail(label, raw, `the destination ${d} must not contain ".."`);
  if (d.replace(/\/+$/, "") === "") return fail(label, raw, "the destination cannot be /");
  return d;
}

function bind(label: string, raw: unknown, source: unknown, dest: unknown, readonly: boolean, base: string): any {
  if (typeof source !== "string" || !source) return fail(label, raw, "the source is missing");
  const abs = resolve(base, source);
  if (!existsSync(abs)) return fail(label, raw, `the source ${source} does not exist${isAbsolute(source) ? "" : ` (looked for ${abs})`}`);
  const m = { destination: destination(label, raw, dest), type: "bind", source: realpathSync(abs), options: ["rbind", readonly ? "ro" : "rw"] };
  // For the check against the image (applyOneShot), not written to config.json.
  Object.defineProperty(m, "checkedAs", { value: `${label} ${typeof raw === "string" ? raw : JSON.stringify(raw)}`, enumerable: false });
  return m;
}

/** docker's `-v SRC:DST[:ro|rw]`. */
export function parseVolume(v: string, label: string, base = process.cwd()): any {
  const parts = v.split(":");
  if (parts.length < 2 || parts.length > 3) return fail(label, v, "expected SRC:DST or SRC:DST:ro (a path on this machine, a path in the container)");
  const opts = parts[2]?.split(",") ?? [];
  for (const o of opts) if (o !== "ro" && o !== "rw") fail(label, v, `unknown option "${o}" (ro or rw)`);
  return bind(label, v, parts[0], parts[1], opts.includes("ro"), base);
}

function tmpfsMount(label: string, raw: unknown, dest: unknown, flags: string[], size?: string | number, mode?: string | number): any {
  const options = ["nosuid", "nodev", "noexec"];
  for (const f of flags) {
    if (!TMPFS_FLAGS.has(f)) fail(label, raw, `unknown tmpfs option "${f}" (size=, mode=, ro, rw, exec, noexec, suid, nosuid, dev, nodev)`);
    const opposite = f.startsWith("no") ? f.slice(2) : `no${f}`;
    const at = options.indexOf(opposite);
    if (at >= 0) options.splice(at, 1);
    if (f !== "rw") options.push(f);
  }
  if (size !== undefined) {
    const bytes = parseBytes(size);
    if (bytes === undefined) fail(label, raw, `size ${size} is not a size (e.g. 64m, 1g, or bytes)`);
    options.push(`size=${bytes}`);
  }
  if (mode !== undefined) {
    const m = typeof mode === "number" ? mode : /^[0-7]{3,4}$/.test(mode) ? parseInt(mode, 8) : NaN;
    if (!Number.isInteger(m) || m < 0 || m > 0o7777) fail(label, raw, `mode ${mode} is not an octal mode (e.g. 1777)`);
    options.push(`mode=${m.toString(8)}`);
  }
  return { destination: destination(label, raw, dest), type: "tmpfs", source: "tmpfs", options };
}

/** docker's `--tmpfs DST[:size=64m,mode=1777,ro,exec,...]`. */
export function parseTmpfs(v: string, label: string): any {
  const colon = v.indexOf(":");
  const dest = colon < 0 ? v : v.slice(0, colon);
  const flags: string[] = [];
  let size: string | undefined, mode: string | undefined;
  for (const o of colon < 0 ? [] : v.slice(colon + 1).split(",")) {
    if (o.startsWith("size=")) size = o.slice(5);
    else if (o.startsWith("mode=")) mode = o.slice(5);
    else flags.push(o);
  }
  return tmpfsMount(label, v, dest, flags, size, mode);
}

const ENV_KEY = /^[^=\s\0]+$/;

/** `KEY=VALUE`, or `KEY` alone taking this process's value (left out when unset, as docker). */
function envEntry(label: string, e: unknown): string | undefined {
  if (typeof e !== "string") return fail(label, e, "expected KEY=VALUE");
  const eq = e.indexOf("=");
  const key = eq < 0 ? e : e.slice(0, eq);
  if (!key) return fail(label, e, "the variable name is empty");
  if (!ENV_KEY.test(key)) return fail(label, e, `the variable name "${key}" contains whitespace`);
  if (e.includes("\0")) return fail(label, e, "contains a NUL byte");
  if (eq >= 0) return e;
  const v = process.env[key];
  return v === undefined ? undefined : `${key}=${v}`;
}

/** docker's --env-file: KEY=VALUE lines (values as written, no quotes removed), `#` comments, `KEY` alone from this process. */
export function readEnvFile(file: string, label: string, base = process.cwd()): string[] {
  const path = resolve(base, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e: any) {
    return fail(label, file, e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "is a directory" : `cannot be read (${e.code ?? e.message})`);
  }
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").replace(/^\s+/, "");
    if (!line || line.startsWith("#")) return;
    try {
      const e = envEntry(`${label} ${file}:${i + 1}:`, line);
      if (e !== undefined) out.push(e);
    } catch (err: any) {
      throw new BuncError(err.message.replace(`${file}:${i + 1}: ${line}`, `${file}:${i + 1}: "${line}"`));
    }
  });
  return out;
}

export function envEntries(env: OneShotSettings["env"], label: string): string[] {
  if (env === undefined) return [];
  if (Array.isArray(env)) return env.map((e) => envEntry(label, e)).filter((e): e is string => e !== undefined);
  if (typeof env !== "object" || env === null) return fail(label, env, "expected an object or KEY=VALUE strings");
  return Object.entries(env).map(([k, v]) => {
    if (typeof v !== "string") fail(label, { [k]: v }, `the value of ${k} must be a string`);
    return envEntry(label, `${k}=${v}`)!;
  });
}

function parseUser(u: OneShotSettings["user"], label: string): OneShotPlan["user"] {
  if (u === undefined) return undefined;
  const id = (s: string) => (/^\d+$/.test(s) ? Number(s) : s);
  if (typeof u === "number") {
    if (!Number.isInteger(u) || u < 0 || u > 0xfffffffe) return fail(label, u, "not a valid uid");
    return { uid: u, label };
  }
  if (typeof u === "string") {
    const m = /^([^:\s]+)(?::([^:\s]+))?$/.exec(u);
    if (!m) return fail(label, u, "expected UID[:GID] (numbers, or names from the image's /etc/passwd and /etc/group)");
    const uid = id(m[1]!), gid = m[2] === undefined ? undefined : id(m[2]);
    for (const n of [uid, gid]) if (typeof n === "number" && n > 0xfffffffe) fail(label, u, `${n} is out of range`);
    return { uid, gid, label };
  }
  if (typeof u !== "object" || u === null || !Number.isInteger(u.uid) || !Number.isInteger(u.gid) || u.uid < 0 || u.gid < 0) {
    return fail(label, u, "expected { uid, gid } (non-negative integers)");
  }
  return { ...u, label };
}

/** Checks every setting (nothing is made yet); throws one line naming the option. */
export function planOneShot(s: OneShotSettings & { envFiles?: string[] }, labels: Labels, base = process.cwd()): OneShotPlan {
  const plan: OneShotPlan = { mounts: [], env: [] };
  if (s.mounts !== undefined && !Array.isArray(s.mounts)) fail(labels.volume, s.mounts, "expected an array");
  (s.mounts ?? []).forEach((m, i) => {
    const label = labels === CLI_LABELS ? labels.volume : `${labels.volume}[${i}]`;
    if (typeof m === "string") return plan.mounts.push(parseVolume(m, label, base));
    if (typeof m !== "object" || m === null) return fail(label, m, "expected SRC:DST[:ro] or { source, destination, readonly }");
    if (m.type === "tmpfs") return plan.mounts.push(tmpfsMount(label, m, m.destination, m.readonly ? ["ro"] : [], m.size, m.mode));
    if (m.type !== undefined && m.type !== "bind") return fail(label, m, `type ${(m as any).type}: bind or tmpfs`);
    plan.mounts.push(bind(label, m, (m as BindMount).source, m.destination, !!m.readonly, base));
  });
  for (const t of s.tmpfs ?? []) plan.mounts.push(parseTmpfs(t, labels.tmpfs));
  const dests = new Set<string>();
  for (const m of plan.mounts) {
    const d = m.destination.replace(/\/+$/, "");
    if (dests.has(d)) throw new BuncError(`${m.type === "tmpfs" ? labels.tmpfs : labels.volume}: ${d} is mounted twice`);
    dests.add(d);
  }
  for (const f of s.envFiles ?? []) plan.env.push(...readEnvFile(f, labels.envFile, base));
  plan.env.push(...envEntries(s.env, labels.env));
  if (s.cwd !== undefined) {
    if (typeof s.cwd !== "string" || !s.cwd.startsWith("/")) fail(labels.cwd, s.cwd, "must be an absolute path in the container");
    plan.cwd = s.cwd;
  }
  plan.user = parseUser(s.user, labels.user);
  if (s.network !== undefined) {
    if (s.network !== "none" && s.network !== "host") fail(labels.network, s.network, "expected host or none");
    plan.network = s.network;
  }
  const r = s.resources ?? {};
  if (r.memory !== undefined) {
    const b = parseBytes(r.memory);
    if (b === undefined) fail(labels.memory, r.memory, "not a size (e.g. 64m, 1g, or bytes)");
    if (b! < 6 * 1024 * 1024) fail(labels.memory, r.memory, "below the minimum of 6m");
    plan.memory = b;
  }
  if (r.cpus !== undefined) {
    const n = typeof r.cpus === "number" ? r.cpus : /^\d*\.?\d+$/.test(String(r.cpus).trim()) ? Number(r.cpus) : NaN;
    const max = availableParallelism();
    if (!Number.isFinite(n) || n < 0.01 || n > max) fail(labels.cpus, r.cpus, `expected a number of CPUs from 0.01 to ${max} (this machine has ${max})`);
    plan.cpus = n;
  }
  if (r.pids !== undefined) {
    const n = typeof r.pids === "number" ? r.pids : /^\d+$/.test(String(r.pids).trim()) ? Number(r.pids) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) fail(labels.pids, r.pids, "expected a positive whole number of processes");
    plan.pids = n;
  }
  if (s.readOnly !== undefined) plan.readOnly = !!s.readOnly;
  return plan;
}

/** A file of the rootfs, read only when it resolves inside it (a tarball's /etc can be a link anywhere). */
function readInRoot(rootfs: string, path: string): string {
  try {
    const root = realpathSync(rootfs);
    const real = realpathSync(join(root, path));
    if (!real.startsWith(`${root}/`) || !lstatSync(real).isFile()) return "";
    return readFileSync(real, "utf8");
  } catch {
    return "";
  }
}

function lookup(rootfs: string, file: string, name: string): { id: number; gid?: number } | undefined {
  for (const line of readInRoot(rootfs, file).split("\n")) {
    const f = line.trim().split(":");
    if (f[0] === name && /^\d+$/.test(f[2] ?? "")) return { id: Number(f[2]), gid: /^\d+$/.test(f[3] ?? "") ? Number(f[3]) : undefined };
  }
  return undefined;
}

function mergeEnv(base: string[] = [], extra: string[]): string[] {
  const key = (e: string) => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e);
  const keys = new Set(extra.map(key));
  return [...base.filter((e) => !keys.has(key(e))), ...extra];
}

/** The host's files for --net host, read-only in the container (those the host has). */
const HOST_NET_FILES = ["/etc/resolv.conf", "/etc/hosts"];

/** Applies a checked plan to a one-shot's config.json (root.path is the rootfs). */
export function applyOneShot(c: any, plan: OneShotPlan): void {
  c.process ??= {};
  c.linux ??= {};
  if (plan.env.length) c.process.env = mergeEnv(c.process.env, plan.env);
  if (plan.cwd) c.process.cwd = plan.cwd;
  if (plan.user) {
    const { label, uid, gid, ...rest } = plan.user;
    const named = (file: string, n: number | string | undefined, what: string) => {
      if (typeof n !== "string") return n;
      const e = lookup(c.root.path, file, n);
      if (!e) throw new BuncError(`${label} ${n}: no such ${what} in the image's ${file}`);
      return e;
    };
    const u = named("/etc/passwd", uid, "user");
    const g = named("/etc/group", gid, "group");
    const uidN = typeof u === "number" ? u : u!.id;
    // As docker: without a group, the user's primary group from the image's /etc/passwd, else 0.
    let gidN = typeof g === "number" ? g : g?.id;
    if (gidN === undefined) gidN = (typeof u === "object" ? u.gid : undefined) ?? passwdGid(c.root.path, uidN) ?? 0;
    c.process.user = { ...rest, uid: uidN, gid: gidN };
  }
  const ns: { type: string; path?: string }[] = (c.linux.namespaces ??= []);
  if (plan.network === "host") {
    c.linux.namespaces = ns.filter((n) => n.type !== "network");
    for (const f of HOST_NET_FILES) {
      if (existsSync(f)) c.mounts = [...(c.mounts ?? []), { destination: f, type: "bind", source: realpathSync(f), options: ["rbind", "ro", "nosuid", "nodev", "noexec"] }];
    }
  } else if (plan.network === "none") {
    c.linux.namespaces = [...ns.filter((n) => n.type !== "network"), { type: "network" }];
  }
  for (const m of plan.mounts) if (m.type === "bind") checkKind(c.root.path, m);
  c.mounts = [...(c.mounts ?? []), ...plan.mounts];
  if (plan.memory !== undefined || plan.cpus !== undefined || plan.pids !== undefined) {
    const r = (c.linux.resources ??= {});
    if (plan.memory !== undefined) r.memory = { ...r.memory, limit: plan.memory };
    if (plan.cpus !== undefined) r.cpu = { ...r.cpu, period: 100000, quota: Math.round(plan.cpus * 100000) };
    if (plan.pids !== undefined) r.pids = { limit: plan.pids };
  }
  if (plan.readOnly !== undefined) {
    c.root.readonly = plan.readOnly;
  }
}

/** A file cannot go on the image's directory, nor a directory on its file: say so before create. */
function checkKind(rootfs: string, m: any): void {
  let inImage;
  try {
    const root = realpathSync(rootfs);
    const real = realpathSync(join(root, m.destination));
    if (real !== root && !real.startsWith(`${root}/`)) return;
    inImage = lstatSync(real);
  } catch {
    return; // not in the image: made at create
  }
  const dir = lstatSync(m.source).isDirectory();
  if (dir && !inImage.isDirectory()) throw new BuncError(`${m.checkedAs}: ${m.destination} is not a directory in the image (the source is one)`);
  if (!dir && inImage.isDirectory()) throw new BuncError(`${m.checkedAs}: ${m.destination} is a directory in the image (the source is not)`);
}

function passwdGid(rootfs: string, uid: number): number | undefined {
  for (const line of readInRoot(rootfs, "/etc/passwd").split("\n")) {
    const f = line.trim().split(":");
    if (f[2] === String(uid) && /^\d+$/.test(f[3] ?? "")) return Number(f[3]);
  }
  return undefined;
}
