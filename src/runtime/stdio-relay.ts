// `run` and `exec` in the foreground without a terminal, in a user namespace or as a non-root
// user: the process's stdin, stdout and stderr are pipes owned by the container's root, which
// bunc copies to and from its own (runc's setupProcessPipes). The caller's fds are the host
// root's, and a process in the user namespace cannot open them again by name: `echo >
// /dev/stdout`, or a server logging to /dev/stderr, would get EACCES; a non-root process gets
// its stdio made its own (giveStdio, as runc), which must be these pipes, not the caller's
// files or terminal.
import { pipe } from "../sys/io";
import { changeOwnerFd, closeFd, writeFully } from "../sys/files";

export interface StdioPipes {
  /** The process's ends: its stdin, stdout and stderr. */
  container: [number, number, number];
  /** bunc's ends: it writes the process's input to `input`, reads its output from `output` and `errors`. */
  input: number;
  output: number;
  errors: number;
}

export function openStdioPipes(): StdioPipes {
  const made: number[] = [];
  try {
    const [inR, inW] = pipe(); made.push(inR, inW);
    const [outR, outW] = pipe(); made.push(outR, outW);
    const [errR, errW] = pipe(); made.push(errR, errW);
    return { container: [inR, outW, errW], input: inW, output: outR, errors: errR };
  } catch (e) {
    for (const fd of made) closeFd(fd);
    throw e;
  }
}

/** The process's ends become the container root's (its host ids), before the process can open them. */
export function giveStdioPipes(p: StdioPipes, uid: number, gid: number): void {
  for (const fd of p.container) changeOwnerFd(fd, uid, gid);
}

/** Closes the process's ends (once it has its copies), or all; each fd once (-1 after). */
export function closeStdioPipes(p: StdioPipes, which: "container" | "all"): void {
  for (const fd of p.container) if (fd >= 0) try { closeFd(fd); } catch {}
  p.container = [-1, -1, -1];
  if (which === "container") return;
  for (const fd of [p.input, p.output, p.errors]) if (fd >= 0) try { closeFd(fd); } catch {}
  p.input = p.output = p.errors = -1;
}

export interface StdioRelay { done: Promise<void>; stop(): void }

/**
 * Copies bunc's stdin to the process and its output to bunc's stdout and stderr. `done`
 * resolves when both output pipes are at their end (every writer in the container gone).
 * Through Bun's streams, which wait on the event loop: node:fs reads would each hold one of
 * the few threads of Bun's pool blocked, and the input's copy would wait behind them.
 */
export function relayStdio(p: StdioPipes): StdioRelay {
  const pump = async (from: number, to: number) => {
    try {
      for await (const chunk of Bun.file(from).stream()) writeFully(to, chunk);
    } catch {} // bunc's own output gone (EPIPE): the copy stops, the process goes on
  };
  const done = Promise.all([pump(p.output, 1), pump(p.errors, 2)]).then(() => {
    for (const fd of [p.output, p.errors]) try { closeFd(fd); } catch {}
    p.output = p.errors = -1;
  });
  const input = Bun.file(0).stream().getReader();
  const inputFd = p.input;
  const sink = Bun.file(inputFd).writer();
  p.input = -1; // closed below, once the copy ends
  let stopped = false;
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await input.read();
        if (done || stopped) break;
        sink.write(value);
        await sink.flush(); // a process that does not read its input holds this copy only
      }
    } catch {} // the process closed its stdin (EPIPE), or stop() cancelled the read
    try { sink.end(); } catch {}
    closeFd(inputFd); // the sink leaves an fd it did not open; the process sees its EOF now
  })();
  return {
    done,
    stop() {
      stopped = true;
      void input.cancel().catch(() => {});
    },
  };
}
