// The CLI's stdout and stderr (the library never writes to them), by write(2): touching
// process.stdout costs Bun ~13 ms at start-up, and every bunc command is a fresh process.
import { writeSync } from "node:fs";

// TextEncoder, not Buffer.from: Buffer's first use costs a printing command ~0.1 ms more.
const encoder = new TextEncoder();

function writeAll(fd: number, text: string): void {
  const data = encoder.encode(text);
  for (let off = 0; off < data.length; ) {
    try {
      off += writeSync(fd, data, off);
    } catch (e: any) {
      if (e.code !== "EAGAIN") return; // a closed pipe: nothing more to say
      Bun.sleepSync(1);
    }
  }
}

export const out = (text: string) => writeAll(1, text);
export const err = (text: string) => writeAll(2, text);
// node:tty is loaded only when something is about to be printed (it costs start-up time).
export const stderrIsTTY = () => (require("node:tty") as typeof import("node:tty")).isatty(2);
