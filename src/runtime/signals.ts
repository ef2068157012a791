// Signal names and numbers as `kill` accepts them: TERM, SIGTERM or 15.
import { BuncError } from "../sys/errors";
import { SIGNALS } from "../sys/signals";

export { SIGNALS };

/**
 * What `run` and `exec` in the foreground pass on to the process, as runc's signal handler
 * (which catches every signal): all a process may be sent, but KILL and STOP (not catchable),
 * CHLD (the wait), URG (as runc), the faults Bun handles itself (ILL, TRAP, ABRT, BUS, FPE,
 * SEGV, SYS), PIPE and XFSZ (Bun ignores them), PROF (profilers), PWR (JavaScriptCore's
 * thread suspension) and STKFLT (Bun installs no handler for it). With a relayed terminal,
 * WINCH resizes the pty instead (the kernel signals the process then).
 */
export const FORWARDED_SIGNALS = ["HUP", "INT", "QUIT", "USR1", "USR2", "ALRM", "TERM", "CONT", "TSTP", "TTIN", "TTOU",
  "XCPU", "VTALRM", "WINCH", "IO"] as const;

export function parseSignal(s: string | undefined): number {
  if (s === undefined || s === "") return SIGNALS.TERM!;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // 0 checks that the init exists, as kill(2) (runc accepts it).
    if (n < 0 || n > 64) throw new BuncError(`invalid signal "${s}"`);
    return n;
  }
  const name = s.toUpperCase().replace(/^SIG/, "");
  const rt = name.match(/^RTMIN(?:\+(\d+))?$/) ?? name.match(/^RTMAX(?:-(\d+))?$/);
  if (rt) return name.startsWith("RTMIN") ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
  const n = SIGNALS[name];
  if (n === undefined) throw new BuncError(`invalid signal "${s}"`);
  return n;
}
