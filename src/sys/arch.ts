// The kernel numbers that differ between x86_64 and aarch64, in one place: syscall numbers
// and open(2) flags (aarch64 moves O_DIRECTORY and O_NOFOLLOW, asm/fcntl.h). bunc runs on
// these two; any other architecture fails here, at load, rather than with a wrong call.

export type Arch = "x64" | "arm64";

const SYSCALLS = {
  x64: {
    clone: 56, pivot_root: 155, capget: 125, capset: 126, keyctl: 250, seccomp: 317, bpf: 321, memfd_create: 319,
    execveat: 322, setgroups: 116, setresuid: 117, setresgid: 119, sched_setaffinity: 203, sched_getaffinity: 204,
    pidfd_send_signal: 424, open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432,
    pidfd_open: 434, clone3: 435, close_range: 436, openat2: 437, mount_setattr: 442,
  },
  arm64: {
    clone: 220, pivot_root: 41, capget: 90, capset: 91, keyctl: 219, seccomp: 277, bpf: 280, memfd_create: 279,
    execveat: 281, setgroups: 159, setresuid: 147, setresgid: 149, sched_setaffinity: 122, sched_getaffinity: 123,
    pidfd_send_signal: 424, open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432,
    pidfd_open: 434, clone3: 435, close_range: 436, openat2: 437, mount_setattr: 442,
  },
} as const satisfies Record<Arch, Record<string, number>>;

export type SyscallName = keyof (typeof SYSCALLS)["x64"];

const GENERIC_OPEN_FLAGS = {
  RDONLY: 0, WRONLY: 0o1, RDWR: 0o2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000, APPEND: 0o2000,
  NONBLOCK: 0o4000, CLOEXEC: 0o2000000, PATH: 0o10000000,
};
const OPEN_FLAGS = {
  x64: { ...GENERIC_OPEN_FLAGS, DIRECTORY: 0o200000, NOFOLLOW: 0o400000 },
  arm64: { ...GENERIC_OPEN_FLAGS, DIRECTORY: 0o40000, NOFOLLOW: 0o100000 },
} satisfies Record<Arch, Record<string, number>>;

/** The tables of one architecture (the running one unless asked). */
export function archConstants(arch: string = process.arch): { SYS: Record<SyscallName, number>; O: (typeof OPEN_FLAGS)[Arch] } {
  if (arch !== "x64" && arch !== "arm64") throw new Error(`bunc: unsupported architecture ${arch}`);
  return { SYS: SYSCALLS[arch], O: OPEN_FLAGS[arch] };
}

const running = archConstants();
/** Syscall numbers of this architecture, by name. */
export const SYS = running.SYS;
/** open(2) flags of this architecture: O.PATH | O.DIRECTORY | O.CLOEXEC. */
export const O = running.O;
/** socket(2)'s SOCK_CLOEXEC is O_CLOEXEC on both architectures. */
export const SOCK_CLOEXEC = O.CLOEXEC;
