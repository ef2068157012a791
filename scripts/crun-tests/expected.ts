// What crun 1.21's tests (scripts/crun-tests.ts) fail on here that is not a bunc bug, each with
// why. A failure not listed here is reported as unexplained; an entry that passes is reported as
// stale. Keys: "file: test name" as the suite prints it.

const WHY = {
  CRUN: "a crun extension runc does not have either: its --regex for delete, run.oci.keep_original_groups, the copy-symlink mount option, its state file (status, external_descriptors), `--config` with another file than the bundle's config.json, its `features` values",
  MESSAGE: "bunc refuses the same way with its own one-line message; the test greps crun's wording",
  RUNC: "bunc does as runc does and the test expects crun's way: exec inherits process.noNewPrivileges (runc's exec.go); a device missing on the host is an error in a user namespace (runc binds the host's node; crun makes one from outside); delete -f of an init another freezer cgroup holds frozen fails, as the SIGKILL waits for a thaw (runc: \"container init still running\"; crun deletes the state and leaves the process); strictatime on a bind mount in a user namespace whose source mount is relatime is an error naming the locked flags (runc 1.3: the kernel locks a source's atime flags there; crun opens the source on the host side)",
  SPEC: "listenerPath without an SCMP_ACT_NOTIFY rule: the runtime spec sends the state to the agent \"when the SCMP_ACT_NOTIFY action is used\" (as runc); crun connects whenever listenerPath is set",
  ARGS: "a config the spec and runc refuse: process.args holding a number (the detach test passes 0, not \"0\"), which bunc reports before it looks at the terminal the test is about; with \"0\" bunc refuses with crun's words (terminal.test.ts)",
  HOST: "this machine: the network namespace of PID 1 cannot be opened (EACCES: /proc/1/ns/net of its firecracker init)",
} as const;

const BY_REASON: Record<keyof typeof WHY, string[]> = {
  CRUN: [
    "test_delete.py: test_multiple_containers_delete",
    "test_mounts.py: mount-copy-symlink",
    "test_oci_features.py: crun-features",
    "test_start.py: start",
    "test_start.py: start-override-config",
    "test_uid_gid.py: keep-groups",
  ],
  MESSAGE: [
    "test_start.py: invalid-id",
  ],
  RUNC: [
    "test_delete.py: test_simple_delete",
    "test_devices.py: owner-device",
    "test_devices.py: mode-device",
    "test_exec.py: exec_add_no_new_privileges",
    "test_mounts.py: mount-strictatime",
  ],
  SPEC: [
    "test_seccomp.py: seccomp-listener",
  ],
  ARGS: [
    "test_tty.py: test-detach-tty",
  ],
  HOST: [
    "test_exec.py: exec-root-netns-with-userns",
  ],
};

export const EXPECTED: Record<string, string> = Object.fromEntries(
  Object.entries(BY_REASON).flatMap(([reason, names]) => names.map((n) => [n, WHY[reason as keyof typeof WHY]])),
);
