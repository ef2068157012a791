// bunc inside another container (a CI job's, docker-in-docker): what the kernel refuses
// there comes from the outer container's limits, so errors say what it must allow.
import { pathExists, readTextIf } from "../sys/files";

const EPERM = 1, ENOENT = 2, EACCES = 13;

export interface OuterProbe {
  exists: (path: string) => boolean;
  read: (path: string) => string | undefined;
}

const hostProbe: OuterProbe = {
  exists: (p) => pathExists(p),
  read: (p) => {
    try {
      return readTextIf(p, ENOENT, EACCES, EPERM); // PID 1's environment may be closed to us
    } catch {
      return undefined;
    }
  },
};

/**
 * The engine of the container bunc runs in ("podman", "docker", "lxc", ...), or undefined
 * on a host: container= in PID 1's environment (podman, systemd-nspawn, lxc), then the
 * marker files podman (/run/.containerenv) and docker (/.dockerenv) leave in the root.
 */
export function detectOuterContainer(probe: OuterProbe = hostProbe): string | undefined {
  const env = probe.read("/proc/1/environ")?.split("\0").find((v) => v.startsWith("container="));
  if (env && env.length > "container=".length) return env.slice("container=".length);
  if (probe.exists("/run/.containerenv")) return "podman";
  if (probe.exists("/.dockerenv")) return "docker";
  return undefined;
}

/** What failed, as far as the hint is concerned. */
export type OuterFailure = "namespaces" | "proc" | "mount" | "hostname" | "cgroups";

const ROOTLESS = "a rootless config (bunc spec --rootless, bunc bundle --rootless)";

/**
 * " — <why>: <what the outer container must allow>" for a permission error (EPERM,
 * EACCES, EROFS) of `what` inside container `outer`; "" on a host or for other errors.
 */
export function outerContainerHint(what: OuterFailure, code: string | undefined, outer: string | undefined): string {
  if (!outer || !code || !["EPERM", "EACCES", "EROFS"].includes(code)) return "";
  const inside = `bunc runs in a ${outer} container`;
  switch (what) {
    case "namespaces":
      return ` — ${inside} without CAP_SYS_ADMIN, which creating namespaces needs: run the outer container with --privileged (or --cap-add SYS_ADMIN), or use ${ROOTLESS}`;
    case "proc":
      return ` — ${inside} that masks parts of /proc, so the kernel refuses a new proc mount: run the outer container with --security-opt unmask=/proc/* (podman), --security-opt systempaths=unconfined (docker) or --privileged`;
    case "mount":
      return ` — ${inside} that denies this mount: run the outer container with --privileged (or --cap-add SYS_ADMIN), or use ${ROOTLESS}`;
    case "hostname":
      return ` — ${inside} whose seccomp profile refuses it without CAP_SYS_ADMIN: run the outer container with --security-opt seccomp=unconfined (or --cap-add SYS_ADMIN, --privileged), or remove "hostname" (and "domainname") from config.json`;
    case "cgroups":
      return ` — ${inside} whose cgroup tree is not writable (read-only unless privileged): run the outer container with --privileged, or use ${ROOTLESS}, which runs without cgroups`;
  }
}
