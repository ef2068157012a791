// The rlimit names of process.rlimits, in the kernel's RLIMIT_* order (a module without valibot: the init loads it).
export const RLIMIT_TYPES = [
  "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
  "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
  "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
] as const;
