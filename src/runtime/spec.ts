// `spec`: a default config.json written into a bundle (runc's, or a rootless one; podman's
// seccomp profile only when asked, so that plain `spec` stays what runc writes).
import { join, resolve } from "../sys/paths";
import { pathExists, writeText } from "../sys/files";
import { O } from "../sys/arch";
import { defaultSpec } from "../spec/default";
import { BuncError } from "../sys/errors";

export interface SpecOptions { rootless?: boolean; seccomp?: boolean }

/** Writes `<bundle>/config.json` (never over an existing one); returns its path. */
export function writeSpec(bundle: string, o: SpecOptions = {}): string {
  const file = join(resolve(bundle), "config.json");
  if (pathExists(file)) throw new BuncError(`${file} exists: remove it first`);
  try {
    const spec = defaultSpec({ rootless: o.rootless });
    if (o.seccomp) {
      const { defaultSeccompProfile } = require("../linux/seccomp/default") as typeof import("../linux/seccomp/default");
      spec.linux.seccomp = defaultSeccompProfile({ capabilities: spec.process.capabilities.bounding });
    }
    writeText(file, JSON.stringify(spec, null, "\t") + "\n", 0o666, O.WRONLY | O.CREAT | O.EXCL);
  } catch (e: any) {
    throw new BuncError(`cannot write ${file}: ${e.code ?? e.message}`);
  }
  return file;
}
