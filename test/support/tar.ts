// Tarballs built by the tests themselves (tar-stream's packer).
import * as tar from "tar-stream";

export type H = Partial<tar.Header> & { name: string };
export type Entry = [H, string?];

export async function pack(entries: Entry[]): Promise<Uint8Array<ArrayBuffer>> {
  const p = tar.pack();
  for (const [h, body] of entries) p.entry(h as tar.Header, body ?? "");
  p.finalize();
  const chunks: Uint8Array[] = [];
  for await (const c of p) chunks.push(c as Uint8Array);
  return Buffer.concat(chunks);
}
