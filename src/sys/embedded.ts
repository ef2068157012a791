// The helpers scripts/build.ts embeds in the compiled binary (the native init, nsexec.so).
// Their bytes come from Bun's Blobs: preloadEmbedded(), which create, run and exec await
// first, reads them (~0.2 ms); a caller that did not (the library) reads them through
// node:fs, the only reader of /$bunfs paths, whose loading costs ~0.9 ms and ~3.5 MiB.
type EmbeddedFile = Blob & { name: string };

const bytesByName = new Map<string, Uint8Array>();

/** The embedded file whose name starts with `prefix` (build names add a hash). */
export function embeddedFile(prefix: string): EmbeddedFile | undefined {
  return Bun.embeddedFiles.find((f) => (f as EmbeddedFile).name.startsWith(prefix)) as EmbeddedFile | undefined;
}

export async function preloadEmbedded(): Promise<void> {
  for (const f of Bun.embeddedFiles as EmbeddedFile[]) if (!bytesByName.has(f.name)) bytesByName.set(f.name, await f.bytes());
}

export function embeddedBytes(file: EmbeddedFile): Uint8Array {
  return bytesByName.get(file.name) ?? (require("node:fs") as typeof import("node:fs")).readFileSync(`/$bunfs/root/${file.name}`);
}
