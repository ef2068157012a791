import { defineCommand } from "citty";
import { out } from "../../sys/output";
import { cli } from "../context";
import { containerPids, procInfo } from "../../runtime/control";
import { BuncError } from "../../runtime/errors";

export default defineCommand({
  meta: { name: "ps", description: "list the processes of a container" },
  args: {
    id: { type: "positional", description: "container id", required: true },
    format: { type: "string", alias: "f", description: "table or json", default: "table" },
  },
  run({ args }) {
    const extra = args._.slice(1);
    const pids = containerPids(cli.globals.root, args.id);
    if (args.format === "json") return void out(JSON.stringify(pids) + "\n");
    if (args.format !== "table") throw new BuncError(`invalid --format "${args.format}": use table or json`);
    if (extra.length) throw new BuncError(`ps options (${extra.join(" ")}) are not supported: bunc reads /proc itself`);
    const rows = pids.map(procInfo).filter((p) => !!p);
    const lines = ["UID        PID     PPID    CMD", ...rows.map((p) => `${String(p.uid).padEnd(10)} ${String(p.pid).padEnd(7)} ${String(p.ppid).padEnd(7)} ${p.cmd}`)];
    out(lines.join("\n") + "\n");
  },
});
