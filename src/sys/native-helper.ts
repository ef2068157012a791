// The small C helpers scripts/build.ts prebuilds and defines into the binary as base64
// (inflate-thread.c): loaded from an executable memfd with dlopen. As an
// embedded file read through Bun's Blobs one cost a command 0.4 MiB more of peak RSS.
import { bindSymbols, type Decls, type Symbols } from "./libc";
import { memfd } from "./memfd";
import { closeFd } from "./files";

/**
 * The helper whose object is `base64` (undefined: a build without a C compiler, or the
 * library run from source), or undefined where it cannot be loaded (no executable memfd with
 * vm.memfd_noexec=2, a dlopen that refuses it): its callers then do without.
 */
export function loadNativeHelper<D extends Decls>(name: string, base64: string | undefined, decls: D): Symbols<D> | undefined {
  if (typeof base64 !== "string") return undefined;
  let fd = -1;
  try {
    fd = memfd(`bunc-${name}.so`, (Uint8Array as unknown as { fromBase64(s: string): Uint8Array }).fromBase64(base64), false, true);
    return bindSymbols(`/proc/self/fd/${fd}`, decls);
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) closeFd(fd);
  }
}
