import { defineCommand } from "../fast-args";
import { out } from "../output";
import { BuncError } from "../../sys/errors";
import { cacheDir, listCache, pruneCache } from "../../runtime/rootfs-cache";
import { listImages } from "../../image/cache";
import { parseBytes } from "./update";

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;

export default defineCommand({
  meta: { name: "cache", description: "the unpacked rootfs trees and image layers of `run --image`: ls, or prune [--all | --max-size N]", usage: "ls | prune [--all | --max-size SIZE]" } as any,
  args: {
    action: { type: "positional", description: "ls or prune", required: true },
    all: { type: "boolean", description: "prune: remove every entry not in use" },
    "max-size": { type: "string", description: "prune: keep at most SIZE (e.g. 500m), least recently used go first" },
  },
  run({ args }) {
    if (args.action === "ls") {
      const entries = listCache();
      const rows = entries.map((e) => `${e.kind.padEnd(7)} ${e.digest.slice(0, 12)}  ${mib(e.bytes).padStart(10)}  ${e.lastUsed.toISOString()}`);
      // Images share layers: their sizes overlap, the total is the entries'.
      const layerBytes = new Map(entries.filter((e) => e.kind === "layer").map((e) => [`sha256:${e.digest}`, e.bytes]));
      const images = listImages(cacheDir(), (d) => layerBytes.get(d));
      const imageRows = images.map((i) => `${i.id.slice(7, 19)}  ${String(i.layers.length).padStart(6)}  ${mib(i.bytes).padStart(10)}  ${i.lastUsed}  ${[i.tags.join(","), i.source].filter(Boolean).join("  ")}`);
      out([
        `cache: ${cacheDir()}`, "KIND    DIGEST        SIZE        LAST USED", ...rows, `${entries.length} entries, ${mib(entries.reduce((n, e) => n + e.bytes, 0))}`,
        ...(images.length ? ["", "IMAGE         LAYERS  SIZE        LAST USED                 TAGS  SOURCE", ...imageRows] : []),
      ].join("\n") + "\n");
      return;
    }
    if (args.action === "prune") {
      if (!args.all && !args["max-size"]) throw new BuncError("cache prune: give --all or --max-size SIZE");
      const removed = pruneCache(args.all ? 0 : parseBytes(args["max-size"]!, "--max-size"));
      out(`removed ${removed.length} entries (${mib(removed.reduce((n, e) => n + e.bytes, 0))})\n`);
      return;
    }
    throw new BuncError(`cache: unknown action "${args.action}" (ls or prune)`);
  },
});
