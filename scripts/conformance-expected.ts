// The runtime-tools failures that are not bunc's: each says why, and either checks that the host
// lacks what the test needs (machines differ) or names the suite (../shared/suites/README.md).
// A failure no entry covers fails the run; so does an entry whose test no longer fails (stale).
// bunc's own bugs never go here: they are fixed in src/.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import type { Failure, FileResult } from "./conformance";

export interface Explained {
  /** The validation program, e.g. "linux_cgroups_blkio". */
  test: string;
  /** Only these TAP points; with neither this nor `match`, every failure of the program. */
  assertions?: number[];
  /** Only the failures whose line or diagnostic matches. */
  match?: RegExp;
  reason: string;
  /** host: `holds` checks this machine; suite: the test's own fault; runc: bunc does as runc and crun do. */
  cause: "host" | "suite" | "runc";
  holds?: () => boolean;
  /** A race in the test: it may pass, which does not make the entry stale. */
  flaky?: boolean;
}

const read = (p: string) => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
};
/** Controllers mounted as cgroup v1 hierarchies (the suite reads v1 on a hybrid host). */
const v1Controllers = (): string[] =>
  read("/proc/self/mountinfo").split("\n").filter((l) => l.split(" - ")[1]?.startsWith("cgroup ")).flatMap((l) => l.split(" ").at(-1)!.split(","));
const onV1 = (c: string) => v1Controllers().includes(c);
/** Capability `bit` in this process's bounding set. */
const inBoundingSet = (bit: number) => ((BigInt("0x" + (/^CapBnd:\s*(\w+)/m.exec(read("/proc/self/status"))?.[1] ?? "0")) >> BigInt(bit)) & 1n) === 1n;
let kmemProbe: boolean | undefined;
/** Whether a v1 kmem limit reads back as written (kernels since 6.x keep it unlimited). */
function kmemLimitSticks(): boolean {
  if (kmemProbe !== undefined) return kmemProbe;
  const dir = `/sys/fs/cgroup/memory/bunc-kmem-probe-${process.pid}`;
  kmemProbe = false;
  if (!existsSync("/sys/fs/cgroup/memory/memory.kmem.limit_in_bytes")) return kmemProbe;
  try {
    mkdirSync(dir);
    writeFileSync(`${dir}/memory.kmem.limit_in_bytes`, "50593792");
    kmemProbe = read(`${dir}/memory.kmem.limit_in_bytes`).trim() === "50593792";
  } catch {
  } finally {
    try {
      rmdirSync(dir);
    } catch {}
  }
  return kmemProbe;
}

const noBlkioWeight = () => !existsSync("/sys/fs/cgroup/blkio/blkio.weight") && !existsSync("/sys/fs/cgroup/blkio/blkio.bfq.weight");
const CAP_SYS_RESOURCE = 24;

export const EXPECTED: Explained[] = [
  ...["linux_cgroups_blkio", "linux_cgroups_relative_blkio"].map((test): Explained => ({
    test, cause: "host", holds: noBlkioWeight,
    reason: "no blkio.weight in the v1 blkio hierarchy (no BFQ scheduler on the block devices): bunc refuses the weight",
  })),
  ...["linux_cgroups_network", "linux_cgroups_relative_network"].map((test): Explained => ({
    test, cause: "host", holds: () => !onV1("net_cls"),
    reason: "no net_cls v1 hierarchy: bunc refuses linux.resources.network.classID",
  })),
  ...["linux_cgroups_hugetlb", "linux_cgroups_relative_hugetlb"].map((test): Explained => ({
    test, cause: "host", holds: () => !onV1("hugetlb"),
    reason: "hugetlb is not a v1 hierarchy here (cgroup2 only), and the suite reads v1",
  })),
  ...["linux_cgroups_memory", "linux_cgroups_relative_memory"].map((test): Explained => ({
    test, cause: "host", match: /memory kernel is set correctly/, holds: () => !kmemLimitSticks(),
    reason: "the kernel keeps v1 kmem limits unlimited (memory.kmem.limit_in_bytes reads back 2^63-4096)",
  })),
  {
    test: "process_capabilities", cause: "host", match: /CAP_SYS_RESOURCE/i, holds: () => !inBoundingSet(CAP_SYS_RESOURCE),
    reason: "CAP_SYS_RESOURCE is not in this machine's bounding set, so no container can have it",
  },
  {
    test: "linux_mount_label", cause: "host", holds: () => !existsSync("/sys/fs/selinux/enforce"),
    reason: "no SELinux: refusing linux.mountLabel is the right answer",
  },
  {
    test: "linux_process_apparmor_profile", cause: "host", holds: () => read("/sys/module/apparmor/parameters/enabled").trim() !== "Y",
    reason: "no AppArmor: refusing process.apparmorProfile is the right answer",
  },

  { test: "hooks", cause: "suite", match: /Hooks MUST be called in the listed order/, reason: "its expected output lacks \" called\" after the post-start/post-stop lines, so no runtime matches (runc neither)" },
  { test: "prestart", cause: "suite", match: /Pre-start hooks MUST be called after the `start` operation is called/, reason: "wants prestart hooks at `start`; runtime-spec runs them during `create`, once the environment exists (runc too)" },
  { test: "misc_props", cause: "suite", assertions: [1], reason: "its first case runs the default process /runtimetest without copying it into the bundle, so `start` fails" },
  {
    test: "pidfile", cause: "suite", assertions: [1], flaky: true,
    reason: "a race: it waits for `running` and kills a container whose process is `true`, usually gone by then (\"container not running\")",
  },
  {
    test: "poststart", cause: "suite", flaky: true, match: /post-start hooks MUST be called after the user-specified process is executed/,
    reason: "a race: it wants the process's output before the hook's, but the hook need only follow the process's start",
  },
  {
    test: "killsig", cause: "suite", flaky: true, match: /that is not stopped: running/,
    reason: "a race: it signals as soon as the state says running, which can be before the shell has set its trap; PID 1 of a PID namespace ignores a signal it has no handler for (runc alike)",
  },
  {
    test: "poststart_fail", cause: "suite", match: /if any poststart hook fails, the runtime MUST log a warning/,
    reason: "tests runtime-spec before 1.3 (PR #1262): now a failing poststart hook is an error that stops the container, as runc does; bunc follows the spec",
  },
  { test: "process_rlimits", cause: "suite", assertions: [13], reason: "runtimetest raises its own RLIMIT_NOFILE before reading it back" },
  {
    test: "process_capabilities_fail", cause: "suite", match: /cannot be mapped to a relevant kernel interface/,
    reason: "wants an error for an unknown capability; runtime-spec 1.1 and later say to log a warning and go on",
  },

  { test: "hooks_stdin", cause: "runc", assertions: [1], reason: "prestart hooks see status \"creating\", as with runc and crun (the suite wants \"created\")" },
  { test: "delete", cause: "runc", assertions: [2, 3], reason: "`delete` of a created (never started) container removes it, as runc and crun do" },
  { test: "start", cause: "runc", assertions: [7], reason: "a config without `process` is refused at `create`, as runc does, so the later `start` fails" },
];

export interface Verdict { explained: { failure: Failure; entry: Explained }[]; unexplained: Failure[]; stale: Explained[] }

const covers = (e: Explained, f: Failure) =>
  (!e.assertions && !e.match) || (f.n !== undefined && !!e.assertions?.includes(f.n)) || !!e.match?.test(`${f.line}\n${f.diag}`);

/** Sorts the failures of a pass into explained and unexplained, and finds the stale entries. */
export function judge(results: FileResult[], entries: Explained[]): Verdict {
  const v: Verdict = { explained: [], unexplained: [], stale: [] };
  for (const r of results) {
    const active = entries.filter((e) => e.test === r.test && (e.cause !== "host" || e.holds!()));
    const used = new Set<Explained>();
    const before = v.unexplained.length;
    for (const f of r.failures) {
      const e = active.find((e) => covers(e, f));
      if (e) {
        used.add(e);
        v.explained.push({ failure: f, entry: e });
      } else v.unexplained.push(f);
    }
    // An unexplained failure can stop a program before the entry's point, so an unused entry is
    // stale only when the program ran every point or failed in no other way.
    const reliable = r.complete || v.unexplained.length === before;
    for (const e of active) if (!used.has(e) && !e.flaky && reliable) v.stale.push(e);
  }
  return v;
}
