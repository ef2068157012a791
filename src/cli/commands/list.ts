import { defineCommand } from "../fast-args";
import { out } from "../output";
import { cli } from "../context";
import { listContainers } from "../../runtime/state";
import { BuncError } from "../../sys/errors";

export default defineCommand({
  meta: { name: "list", description: "list containers" },
  args: {
    format: { type: "string", alias: "f", description: "table or json", default: "table" },
    quiet: { type: "boolean", alias: "q", description: "print only ids" },
  },
  run({ args }) {
    const views = listContainers(cli.globals.root).map((c) => c.view());
    if (args.quiet) return void out(views.map((v) => v.id + "\n").join(""));
    if (args.format === "json") return void out(JSON.stringify(views) + "\n");
    if (args.format !== "table") throw new BuncError(`invalid --format "${args.format}": use table or json`);
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...views.map((v) => [v.id, String(v.pid), v.status, v.bundle, v.created, v.owner])];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    // runc's tabwriter: each column at least 12 wide, 3 spaces of padding, the last as it is
    out(rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(Math.max(w[i]! + 3, 12)) : c)).join("")).join("\n") + "\n");
  },
});
