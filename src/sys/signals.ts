// Linux signal numbers by name (as errno.ts has error names), and how a death by one reads.

export const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21,
  TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};

/** What ends a process by default and may be caught, less PWR (JavaScriptCore's) and the faults. */
export const ENDING_SIGNALS = [1, 2, 3, 6, 10, 12, 13, 14, 15, 16, 24, 25, 26, 27, 29] as const;

/** strsignal(3)'s words (glibc's), as Go's ProcessState prints a death by signal: "signal: bad system call". */
const SIGNAL_TEXT = ["", "hangup", "interrupt", "quit", "illegal instruction", "trace/breakpoint trap", "aborted", "bus error",
  "floating point exception", "killed", "user defined signal 1", "segmentation fault", "user defined signal 2", "broken pipe",
  "alarm clock", "terminated", "stack fault", "child exited", "continued", "stopped (signal)", "stopped", "stopped (tty input)",
  "stopped (tty output)", "urgent I/O condition", "CPU time limit exceeded", "file size limit exceeded", "virtual timer expired",
  "profiling timer expired", "window changed", "I/O possible", "power failure", "bad system call"];

/** A death by signal `n`, in runc's (Go's) words with the name: "signal: bad system call (SIGSYS)". */
export function describeSignalDeath(n: number): string {
  const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n && k !== "IOT" && k !== "POLL");
  return `signal: ${SIGNAL_TEXT[n] ?? `signal ${n}`}${name ? ` (SIG${name})` : ""}`;
}
