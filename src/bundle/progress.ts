// A one-line progress bar for large archives, on the stream the caller gives (the CLI's
// stderr); a no-op without one, or unless it is a TTY.
const MIN_BYTES = 32 * 1024 * 1024; // smaller archives unpack too fast for a bar to be useful
const INTERVAL_MS = 100;

export interface Progress {
  update(bytes: number, entries: number): void;
  done(): void;
}

/** Where a bar may be drawn: process.stderr, or anything that writes and says whether it is a terminal. */
export interface ProgressOutput { isTTY?: boolean; write(text: string): unknown }

export function progressBar(total: number, out: ProgressOutput | undefined): Progress {
  // The size first: asking whether `out` is a terminal may load a module (node:tty).
  if (!out || total < MIN_BYTES || !out.isTTY) return { update() {}, done() {} };
  let last = 0, shown = false;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  const draw = (bytes: number, entries: number) => {
    const frac = total ? Math.min(1, bytes / total) : 1;
    const bar = "#".repeat(Math.round(frac * 30)).padEnd(30, ".");
    out.write(`\r[${bar}] ${mib(bytes)}/${mib(total)} MiB, ${entries} entries`);
    shown = true;
  };
  let lastEntries = 0;
  return {
    update(bytes, entries) {
      lastEntries = entries;
      const now = Date.now();
      if (now - last < INTERVAL_MS) return;
      last = now;
      draw(bytes, entries);
    },
    done() {
      if (shown) draw(total, lastEntries), out.write("\n");
    },
  };
}
