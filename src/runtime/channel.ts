// The sync channel between bunc and a container's init: JSON lines over a socketpair,
// read and written synchronously (the init has no event loop to spare).
import { namedErrnos } from "../sys/errno";
import { readFd } from "../sys/files";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

export type Message =
  | { type: "plan"; plan: unknown }
  | { type: "hooks" }           // init -> parent: run prestart/createRuntime now
  | { type: "continue" }        // parent -> init
  | { type: "ready" }           // init is set up
  | { type: "created" }         // parent -> init: the state is written; wait on the exec fifo
  | { type: "idmap" }           // init -> parent: send the idmapped mount trees now (SCM_RIGHTS, one per message)
  | { type: "error"; message: string; exitCode?: number }
  | { type: "debug"; message: string }; // init -> parent: a --debug trace line

export class Channel {
  private buf = "";
  private decoder = new TextDecoder();
  constructor(readonly fd: number) {}

  send(m: Message): void {
    const data = Buffer.from(JSON.stringify(m) + "\n");
    let off = 0;
    while (off < data.length) off += nodeFs().writeSync(this.fd, data, off);
  }

  /** The next message, or undefined when the other side is gone. */
  recv(): Message | undefined {
    const chunk = new Uint8Array(65536);
    for (;;) {
      const nl = this.buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        const m = JSON.parse(line) as Message;
        // nsexec.c has no errno names: it reports numbers, named here.
        if (m.type === "error") m.message = namedErrnos(m.message);
        return m;
      }
      let n: number;
      try {
        n = readFd(this.fd, chunk);
      } catch (e: any) {
        if (e.code === "EAGAIN" || e.code === "EINTR") continue;
        if (e.code === "ECONNRESET") return undefined;
        throw e;
      }
      if (n === 0) return undefined;
      this.buf += this.decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  }
}
