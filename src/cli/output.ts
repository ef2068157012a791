// The CLI's stdout and stderr (the library never writes to them), by write(2) through the
// FFI (sys/files): touching process.stdout costs Bun ~7 ms at start-up, and node:fs's
// writeSync ~0.9 ms (loading node:fs) against ~0.4 for the FFI; every bunc command is a
// fresh process. The dispatcher and the logger load this module only when they print, so
// that `--version` loads no FFI.
import { writeAll } from "../sys/files";
import { libc } from "../sys/libc";

// TextEncoder, not Buffer.from: Buffer's first use costs a printing command ~0.1 ms more.
const encoder = new TextEncoder();

export const out = (text: string) => writeAll(1, encoder.encode(text));
export const err = (text: string) => writeAll(2, encoder.encode(text));
// isatty(3) through the FFI this module loads anyway: node:tty brought node:stream and
// node:fs with it, ~2.2 ms of every command that printed an error.
export const stderrIsTTY = () => libc.isatty(2) === 1;
