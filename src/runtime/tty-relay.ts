// `run`/`exec -t` in the foreground without --console-socket: bunc holds the pty master
// and relays it to its own terminal (raw mode, window size changes) until the process ends.
import { setWindowSize } from "../linux/terminal";
import { linuxSyscalls } from "../sys/syscalls";
import { O } from "../sys/arch";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export interface Relay { done: Promise<void>; stop(): void }

export function relayTerminal(master: number): Relay {
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  const resize = () => {
    const { rows, columns } = process.stdout;
    if (process.stdout.isTTY && rows > 0 && columns > 0) try { setWindowSize(master, rows, columns); } catch {}
  };
  resize();
  process.on("SIGWINCH", resize);
  const onInput = (d: Buffer) => { try { nodeFs().writeSync(master, d); } catch {} };
  stdin.on("data", onInput);
  const buf = Buffer.alloc(65536);
  // Reads until the slave side is gone (EIO): the output is drained before we return.
  const done = new Promise<void>((resolve) => {
    const pump = () => nodeFs().read(master, buf, 0, buf.length, null, (err, n) => {
      if (err || n === 0) return resolve();
      try { nodeFs().writeSync(1, buf.subarray(0, n)); } catch {}
      pump();
    });
    pump();
  });
  return {
    done,
    stop() {
      process.off("SIGWINCH", resize);
      stdin.off("data", onInput);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
      try { nodeFs().closeSync(master); } catch {}
    },
  };
}

const F_SETFL = 4;

/**
 * A start that failed: what the container side wrote to the terminal so far (a startContainer
 * hook's error) goes to bunc's output, as runc's relay, running from create on, shows it.
 */
export function drainTerminal(master: number): void {
  try {
    linuxSyscalls.fcntl(master, F_SETFL, O.NONBLOCK); // the access mode is not F_SETFL's to change
    const buf = Buffer.alloc(65536);
    for (;;) {
      const n = nodeFs().readSync(master, buf); // EAGAIN: nothing more; EIO: the other side is gone
      if (n <= 0) return;
      nodeFs().writeSync(1, buf.subarray(0, n));
    }
  } catch {}
}
