import { defineCommand } from "citty";
import { out } from "../../sys/output";
import { cli } from "../context";
import { statsEvent } from "../../runtime/control";
import { loadContainer } from "../../runtime/state";
import { BuncError } from "../../runtime/errors";

function parseInterval(s: string): number {
  const m = s.match(/^(\d+(?:\.\d+)?)(ms|s|m)?$/);
  if (!m) throw new BuncError(`invalid --interval "${s}" (e.g. 5s, 500ms)`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[m[2] ?? "s"]!;
}

export default defineCommand({
  meta: { name: "events", description: "print container stats as JSON, once (--stats) or every interval" },
  args: {
    id: { type: "positional", description: "container id", required: true },
    stats: { type: "boolean", description: "print stats once and exit" },
    interval: { type: "string", description: "stats interval (default 5s)", default: "5s" },
  },
  async run({ args }) {
    const every = parseInterval(args.interval);
    const print = () => out(JSON.stringify(statsEvent(cli.globals.root, args.id)) + "\n");
    if (args.stats) return print();
    while (loadContainer(cli.globals.root, args.id).status() !== "stopped") {
      print();
      await Bun.sleep(every);
    }
  },
});
