import { defineCommand } from "citty";
import { features } from "../../runtime/features";

export default defineCommand({
  meta: { name: "features", description: "print what this runtime supports (runtime-spec features.md)" },
  args: {},
  run() {
    process.stdout.write(JSON.stringify(features(), null, 2) + "\n");
  },
});
