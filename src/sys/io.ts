// Blocking reads of the sockets and pipes bunc shares with its native stages.
import { readSync } from "node:fs";

/** Everything until EOF (or a reset connection) from a blocking fd, or until `enough` says so. */
export function readToEnd(fd: number, enough: (got: Uint8Array) => boolean = () => false): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(256);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf);
    } catch (e: any) {
      if (e.code === "EINTR" || e.code === "EAGAIN") continue;
      if (e.code === "ECONNRESET") break;
      throw e;
    }
    if (n <= 0) break;
    chunks.push(buf.slice(0, n));
    if (enough(Buffer.concat(chunks))) break;
  }
  return Buffer.concat(chunks);
}
