// `bunc ps <id> [ps options]` in ps(1)'s own formats, answered from /proc (bunc runs no
// ps): runc's default is `ps -ef`; -x/ax give BSD's short list, aux the user-oriented one,
// -o the named fields. An option bunc cannot answer is an error naming it.
import { readText } from "../sys/files";
import type { ProcInfo } from "../runtime/ps";
import { BuncError } from "../sys/errors";

const HZ = 100; // USER_HZ: the unit of /proc/<pid>/stat times on Linux

interface Clock { now: number; bootSec: number; memKb: number }

function clock(): Clock {
  const btime = Number(readText("/proc/stat").match(/^btime (\d+)/m)?.[1] ?? 0);
  const memKb = Number(readText("/proc/meminfo").match(/^MemTotal:\s+(\d+)/m)?.[1] ?? 1);
  return { now: Date.now() / 1000, bootSec: btime, memKb };
}

const two = (n: number) => String(n).padStart(2, "0");

/** [DD-]HH:MM:SS of CPU time, as ps's TIME. */
function cpuTime(ticks: number): string {
  let s = Math.floor(ticks / HZ);
  const d = Math.floor(s / 86400);
  s %= 86400;
  const hms = `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
  return d ? `${d}-${hms}` : hms;
}

/** BSD TIME (M:SS). */
function cpuTimeShort(ticks: number): string {
  const s = Math.floor(ticks / HZ);
  return `${Math.floor(s / 60)}:${two(s % 60)}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** HH:MM when started today, else MonDD, as ps's STIME/START. */
function startTime(p: ProcInfo, c: Clock): string {
  const t = new Date((c.bootSec + p.startTicks / HZ) * 1000);
  const today = new Date(c.now * 1000);
  return t.toDateString() === today.toDateString() ? `${two(t.getHours())}:${two(t.getMinutes())}` : `${MONTHS[t.getMonth()]}${two(t.getDate())}`;
}

function elapsed(p: ProcInfo, c: Clock): number {
  return Math.max(c.now - (c.bootSec + p.startTicks / HZ), 0.001);
}

/** The controlling terminal from tty_nr: pts/N, ttyN, or ? */
function tty(p: ProcInfo): string {
  if (!p.ttyNr) return "?";
  const major = (p.ttyNr >> 8) & 0xfff, minor = (p.ttyNr & 0xff) | ((p.ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  if (major === 4) return `ttyS${minor - 64}`;
  return "?";
}

type Field = [header: string, value: (p: ProcInfo, c: Clock) => string | number, right?: boolean];

const FIELDS: Record<string, Field> = {
  uid: ["UID", (p) => p.user], user: ["USER", (p) => p.user], euser: ["EUSER", (p) => p.user],
  pid: ["PID", (p) => p.pid, true], ppid: ["PPID", (p) => p.ppid, true],
  c: ["C", (p, c) => Math.floor((p.cpuTicks / HZ / elapsed(p, c)) * 100), true],
  "%cpu": ["%CPU", (p, c) => ((p.cpuTicks / HZ / elapsed(p, c)) * 100).toFixed(1), true],
  pcpu: ["%CPU", (p, c) => ((p.cpuTicks / HZ / elapsed(p, c)) * 100).toFixed(1), true],
  "%mem": ["%MEM", (p, c) => ((p.rss / c.memKb) * 100).toFixed(1), true],
  pmem: ["%MEM", (p, c) => ((p.rss / c.memKb) * 100).toFixed(1), true],
  vsz: ["VSZ", (p) => p.vsz, true], rss: ["RSS", (p) => p.rss, true],
  tty: ["TTY", (p) => tty(p)], tt: ["TT", (p) => tty(p)],
  stat: ["STAT", (p) => p.stat], s: ["S", (p) => p.stat], state: ["S", (p) => p.stat],
  stime: ["STIME", (p, c) => startTime(p, c)], start: ["START", (p, c) => startTime(p, c)], start_time: ["START", (p, c) => startTime(p, c)],
  time: ["TIME", (p) => cpuTime(p.cpuTicks)], cputime: ["TIME", (p) => cpuTime(p.cpuTicks)],
  comm: ["COMMAND", (p) => p.comm], ucomm: ["COMMAND", (p) => p.comm],
  args: ["COMMAND", (p) => p.cmd], command: ["COMMAND", (p) => p.cmd], cmd: ["CMD", (p) => p.cmd],
  nlwp: ["NLWP", (p) => p.nlwp, true], thcount: ["THCNT", (p) => p.nlwp, true],
};

const FULL = ["uid", "pid", "ppid", "c", "stime", "tty", "time", "cmd"]; // ps -ef
const BSD_X = ["pid", "tty", "stat", "bsdtime", "command"]; // ps x / -x
const BSD_U = ["user", "pid", "%cpu", "%mem", "vsz", "rss", "tty", "stat", "start", "bsdtime", "command"]; // ps aux
FIELDS.bsdtime = ["TIME", (p) => cpuTimeShort(p.cpuTicks), true];

/** Options that only select processes: the container's are listed whatever they say. */
const SELECT = new Set(["e", "A", "a", "x"]);

/** The columns `ps` would print for these options. */
export function psColumns(psArgs: string[]): string[] {
  if (!psArgs.length) return FULL;
  let cols: string[] | undefined;
  let full = false, bsdUser = false, bsdX = false;
  for (let i = 0; i < psArgs.length; i++) {
    const a = psArgs[i]!;
    const list = a === "-o" || a === "o" || a === "--format" ? psArgs[++i] : a.startsWith("-o") ? a.slice(2) : a.startsWith("--format=") ? a.slice(9) : undefined;
    if (list !== undefined) {
      cols = [...(cols ?? []), ...list.split(/[\s,]+/).filter(Boolean).map((c) => c.replace(/=.*$/, "").toLowerCase())];
      for (const c of cols) if (!FIELDS[c]) throw new BuncError(`ps: unknown field "${c}" (bunc knows ${Object.keys(FIELDS).join(", ")})`);
      continue;
    }
    const dash = a.startsWith("-");
    const letters = a.replace(/^-/, "");
    if (!/^[A-Za-z]+$/.test(letters)) throw new BuncError(`ps: unsupported option "${a}"`);
    for (const ch of letters) {
      if (SELECT.has(ch)) {
        if (ch === "x") bsdX = true;
        continue;
      }
      if (ch === "f" && dash) { full = true; continue; }
      if (ch === "u" && !dash) { bsdUser = true; continue; }
      throw new BuncError(`ps: unsupported option "${a}" (bunc answers -e, -A, -f, -x, a, x, u, aux and -o FIELDS from /proc)`);
    }
  }
  if (cols) return cols;
  if (bsdUser) return BSD_U;
  if (full) return FULL;
  if (bsdX) return BSD_X;
  return ["pid", "tty", "time", "cmd"]; // plain `ps -e`
}

/** The table, aligned as ps aligns it (numbers to the right, the last column free). */
export function psTable(procs: ProcInfo[], cols: string[]): string {
  const c = clock();
  const rows = [cols.map((k) => FIELDS[k]![0]), ...procs.map((p) => cols.map((k) => String(FIELDS[k]![1](p, c))))];
  const width = cols.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : FIELDS[cols[i]!]![2] ? v.padStart(width[i]!) : v.padEnd(width[i]!))).join(" ")).join("\n") + "\n";
}
