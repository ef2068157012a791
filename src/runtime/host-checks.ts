// Checks of a config against the host, made at create before anything exists: settings
// that would act on the host's own namespaces, or that the host cannot enforce.
import type { Config } from "../spec/schema";
import { validateSysctl, isHostNamespace } from "../linux/sysctl";
import { validateLabels } from "../linux/lsm";
import { parseMountInfo, readMountInfo } from "../linux/mountinfo";
import { BuncError } from "../sys/errors";

export function checkConfigForHost(config: Config): void {
  validateSysctl(config);
  // A uts namespace joined by path may be the host's: setting a name there renames the host.
  const uts = config.linux.namespaces.find((n) => n.type === "uts");
  for (const field of ["hostname", "domainname"] as const)
    if (config[field] !== undefined && uts?.path && isHostNamespace("uts", uts.path))
      throw new BuncError(`${field}: not allowed in the host's uts namespace (${uts.path})`);
  validateLabels(config);
  // Intel RDT (resctrl): bunc does not manage it; a config asking for it must not run
  // believing its cache/memory-bandwidth allocation holds.
  if (config.linux.intelRdt) {
    const mounted = parseMountInfo(readMountInfo()).some((m) => m.fstype === "resctrl");
    throw new BuncError(mounted
      ? "linux.intelRdt: resctrl is mounted, but bunc does not support Intel RDT yet"
      : "linux.intelRdt: this host has no resctrl filesystem (/sys/fs/resctrl is not mounted; Intel RDT or AMD QoS is needed)");
  }
}
