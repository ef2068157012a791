import { defineCommand } from "../fast-args";
import { writeSpec } from "../../runtime/spec";

export default defineCommand({
  meta: { name: "spec", description: "write a default config.json into the bundle" },
  args: {
    bundle: { type: "string", alias: "b", description: "bundle directory (default: current directory)" },
    rootless: { type: "boolean", description: "a spec for a rootless container (user namespace)" },
    seccomp: { type: "boolean", description: "include a default seccomp profile (podman's) in linux.seccomp" },
  },
  run({ args }) {
    writeSpec(args.bundle ?? ".", { rootless: args.rootless, seccomp: args.seccomp });
  },
});
