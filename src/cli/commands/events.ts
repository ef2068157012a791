import { defineCommand } from "../fast-args";
import { out } from "../output";
import { cli } from "../context";
import { oomKills, statsEvent } from "../../runtime/events";
import { loadContainer } from "../../runtime/state";
import { BuncError } from "../../sys/errors";

function parseInterval(s: string): number {
  const m = s.match(/^(\d+(?:\.\d+)?)(ms|s|m)?$/);
  if (!m) throw new BuncError(`invalid --interval "${s}" (e.g. 5s, 500ms)`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[m[2] ?? "s"]!;
}

export default defineCommand({
  meta: { name: "events", description: "container stats as JSON: once (--stats) or every interval, plus OOM events" },
  args: {
    id: { type: "positional", description: "container id", required: true },
    stats: { type: "boolean", description: "print stats once and exit" },
    interval: { type: "string", description: "stats interval (default 5s)", default: "5s" },
  },
  async run({ args }) {
    const every = parseInterval(args.interval);
    const print = () => out(JSON.stringify(statsEvent(cli.runtime, args.id)) + "\n");
    if (args.stats) return print();
    // runc's stream: a stats event every interval, and an "oom" event when the kernel OOM-kills.
    let ooms = oomKills(cli.globals.root, args.id);
    while (loadContainer(cli.globals.root, args.id).status() !== "stopped") {
      print();
      for (let waited = 0; waited < every; waited += 100) {
        const now = oomKills(cli.globals.root, args.id);
        if (now > ooms) out(JSON.stringify({ type: "oom", id: args.id }) + "\n");
        ooms = now;
        await Bun.sleep(Math.min(100, every));
      }
    }
    if (oomKills(cli.globals.root, args.id) > ooms) out(JSON.stringify({ type: "oom", id: args.id }) + "\n");
  },
});
