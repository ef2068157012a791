// What runc 1.3.3's integration tests (scripts/runc-bats.ts) fail on here that is not a bunc bug,
// each with why. A failure not listed here is reported as unexplained; an entry that passes is
// reported as stale. Test names as bats prints them.

const WHY = {
  RUNC_LIMIT: "a config runc refuses for its own init's sake and bunc runs: SCMP_ACT_NOTIFY on write (runc's init writes to its sync pipe once the filter is loaded; bunc's inits send the listener with sendmsg and write only a failure report, which the agent sees as any other write)",
  INTERNAL: "asserts runc's own log lines, help text or version string (nsexec's debug messages, logrus's level=debug, NAME:, exeseal), not what a container sees",
  MESSAGE: "bunc fails the same way with its own one-line message (the test greps runc's wording, or a first line runc's init prints bare), or, for ambient capabilities outside the inheritable set, stays silent as runc 1.1 does where runc 1.3 warns",
  HOST: "this machine: its PID 1 reaps orphans seconds late (wait_pids_gone sees zombies: these pass or fail from run to run), prlimit of the test shell's RLIMIT_NOFILE is refused, and spec validation clones from GitHub",
  SPEC: "a config runc's Go decoder lets through and the runtime spec does not: a key in other case (\"pagesize\" for pageSize), ioPriority without its REQUIRED priority, a device access \"rwa\"",
  CHOICE: "decided differently, on purpose: a non-empty cgroupsPath is a warning (runc 1.1's behaviour; engines put a pod's processes there first); a mount destination is a path in the container, as the spec has it, where runc reads one that starts with the rootfs's host path as below the rootfs, and a bind source is the host's path, where runc opens one inside the rootfs after the mounts before it",
  NEWER: "the test knows fewer seccomp flags than bunc offers: `features` lists SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, which its table lacks (it stops on an unknown flag by design)",
} as const;

const BY_REASON: Record<keyof typeof WHY, string[]> = {
  INTERNAL: [
    "global --debug",
    "global --debug to --log",
    "global --debug to --log --log-format 'json'",
    "global --debug to --log --log-format 'text'",
    "runc --debug --log exec",
    "runc --debug exec",
    "runc -h",
    "runc command -h",
    "runc exec [CPU affinity, initial and final set from config.json]",
    "runc exec [CPU affinity, initial and final set from process.json]",
    "runc exec [CPU affinity, only initial set from process.json]",
    "runc foo -h",
    "runc run [/proc/self/exe clone]",
    "runc version",
  ],
  MESSAGE: [
    "runc exec --cgroup sub-cgroups [v1]",
    "runc run (cgroup v1 + unified resources should fail)",
    "runc run [ambient caps not set in inheritable result in a warning]",
    "runc run [execve error]",
  ],
  HOST: [
    "kill KILL [host pidns + init gone]",
    "kill KILL [host pidns]",
    "runc delete --force [host pidns + init gone]",
    "runc delete [host pidns + init gone]",
    "runc exec with RLIMIT_NOFILE(Bigger than system's hard value)",
    "runc exec with RLIMIT_NOFILE(Smaller than system's hard value)",
    "runc exec with RLIMIT_NOFILE(The same as system's hard value)",
    "runc run with RLIMIT_NOFILE(Bigger than system's hard value)",
    "runc run with RLIMIT_NOFILE(Smaller than system's hard value)",
    "runc run with RLIMIT_NOFILE(The same as system's hard value)",
    "spec validator",
  ],
  SPEC: [
    "ioprio_set is applied to process group",
    "runc run (hugetlb limits)",
    "update devices [minimal transition rules]",
  ],
  CHOICE: [
    "runc run [mount order, container bind-mount source]",
    "runc run [mount order, container bind-mount source] (userns)",
    "runc run [mount order, container idmap source] (userns)",
    "runc run [mount order, container idmap source]",
    "runc run/create should error for a non-empty cgroup",
  ],
  RUNC_LIMIT: [
    "runc run [seccomp] (SCMP_ACT_NOTIFY write)",
  ],
  NEWER: [
    "runc run [seccomp] (SECCOMP_FILTER_FLAG_*)",
  ],
};

/** Test name -> why it fails here. */
export const EXPECTED: Record<string, string> = Object.fromEntries(
  (Object.keys(BY_REASON) as (keyof typeof WHY)[]).flatMap((k) => BY_REASON[k].map((name) => [name, WHY[k]])),
);
