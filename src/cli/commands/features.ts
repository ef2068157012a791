import { defineCommand } from "../fast-args";
import { out } from "../output";
import { features } from "../../runtime/features";

export default defineCommand({
  meta: { name: "features", description: "print what this runtime supports (runtime-spec features.md)" },
  args: {},
  run() {
    out(JSON.stringify(features(), null, 2) + "\n");
  },
});
