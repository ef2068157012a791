// The native init executable (native-init.c): embedded in the compiled binary by
// scripts/build.ts, or dist/bunc-init-<arch> when running from sources. It runs from a
// sealed memfd, so the container can neither write it nor reach bunc's binary through it.
import { join } from "./paths";
import { memfd } from "./memfd";
import { embeddedBytes, embeddedFile } from "./embedded";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const NAME = `bunc-init-${process.arch}`;

function image(): Uint8Array | undefined {
  if (process.env.BUNC_NATIVE_INIT === "0") return undefined;
  const embedded = embeddedFile(NAME);
  if (embedded) return embeddedBytes(embedded);
  const dev = join(import.meta.dir, "../../dist", NAME);
  return nodeFs().existsSync(dev) ? nodeFs().readFileSync(dev) : undefined;
}

/** A sealed, close-on-exec fd to execveat the native init with, or undefined when there is none. */
export function openNativeInit(): number | undefined {
  const bytes = image();
  return bytes ? memfd(NAME, bytes, true, true) : undefined;
}

export function hasNativeInit(): boolean {
  return image() !== undefined;
}
