// stdout/stderr by write(2): touching process.stdout costs Bun ~13 ms at start-up, and
// every bunc command is a fresh process.
import { writeSync } from "node:fs";
import { isatty } from "node:tty";

function writeAll(fd: number, text: string): void {
  const data = Buffer.from(text);
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
export const stderrIsTTY = () => isatty(2);
export const warnToStderr = (m: string) => err(`bunc: warning: ${m}\n`);
