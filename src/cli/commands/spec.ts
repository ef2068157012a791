import { defineCommand } from "citty";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultSpec } from "../../spec/default";
import { BuncError } from "../../sys/errors";

export default defineCommand({
  meta: { name: "spec", description: "write a default config.json into the bundle" },
  args: {
    bundle: { type: "string", alias: "b", description: "bundle directory (default: current directory)" },
    rootless: { type: "boolean", description: "a spec for a rootless container (user namespace)" },
    seccomp: { type: "boolean", description: "include a default seccomp profile (podman's) in linux.seccomp" },
  },
  run({ args }) {
    const file = join(resolve(args.bundle ?? "."), "config.json");
    if (existsSync(file)) throw new BuncError(`${file} exists: remove it first`);
    try {
      const spec = defaultSpec({ rootless: args.rootless });
      // Opt-in, so that plain `spec` stays what runc writes.
      if (args.seccomp) {
        const { defaultSeccompProfile } = require("../../linux/seccomp/default") as typeof import("../../linux/seccomp/default");
        spec.linux.seccomp = defaultSeccompProfile({ capabilities: spec.process.capabilities.bounding });
      }
      writeFileSync(file, JSON.stringify(spec, null, "\t") + "\n", { flag: "wx" });
    } catch (e: any) {
      throw new BuncError(`cannot write ${file}: ${e.code ?? e.message}`);
    }
  },
});
