// Image layers delete what lower layers made with whiteout entries: `.wh.NAME` removes NAME,
// `.wh..wh..opq` in a directory hides everything lower layers put in it. A layer is unpacked
// in one of two ways (unpack.ts unpackLayer):
// - "overlay": into its own directory, to be stacked as an overlayfs lowerdir. The kernel's
//   own markers stand for the entries: a 0/0 character device for `.wh.NAME` and the
//   trusted.overlay.opaque=y xattr on an opaque directory, as containers/storage does.
// - "apply": onto the tree of the layers below (a flattened copy, when overlay cannot be
//   used). Every deletion the layer asks for is done before its first entry is written,
//   so nothing of this layer is removed by its own whiteouts.
// node:fs when a layer is applied (images): `bunc bundle` never loads it (~3.5 MiB, ~0.9 ms).
const fs = () => require("node:fs") as typeof import("node:fs");
import { tryOpenInRoot } from "../sys/openat2";
import { O } from "../sys/arch";
import { BuncError } from "../sys/errors";
import type { RootDir } from "../sys/rootdir";
import type { TarMember } from "./tar-index";
import { cleanName } from "./tar-index";

export type WhiteoutMode = "overlay" | "apply";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
/** The xattr overlayfs reads on a lower directory that hides the layers below it. */
export const OPAQUE_XATTR: [string, Uint8Array] = ["trusted.overlay.opaque", new TextEncoder().encode("y")];

export const isWhiteout = (base: string) => base.startsWith(WHITEOUT_PREFIX);

/** overlayfs reads trusted.overlay.* of lower dirs: a layer never sets them itself. */
export const isOverlayXattr = (name: string) => name.startsWith("trusted.overlay.");

/** The fd of `rel` inside the root, without creating or following its last component; undefined when absent. */
function openNoFollow(root: RootDir, rel: string, flags: number): number | undefined {
  const fd = tryOpenInRoot(root.fd, rel, flags | O.PATH | O.NOFOLLOW | O.CLOEXEC);
  return fd >= 0 ? fd : undefined;
}

/** Removes `parts` (recursively: rm never follows a symlink) when it exists; the parent is resolved inside the root. */
export function removeInRoot(root: RootDir, parts: string[]): void {
  root.forgetParent();
  const parent = openNoFollow(root, parts.slice(0, -1).join("/"), O.DIRECTORY);
  if (parent === undefined) return;
  try {
    fs().rmSync(`/proc/self/fd/${parent}/${parts.at(-1)}`, { recursive: true, force: true });
  } finally {
    fs().closeSync(parent);
  }
}

/** Empties directory `parts` (an opaque directory of the next layer); nothing when it is not a directory. */
function clearInRoot(root: RootDir, parts: string[]): void {
  root.forgetParent();
  const dir = openNoFollow(root, parts.join("/"), O.DIRECTORY);
  if (dir === undefined) return;
  try {
    for (const name of fs().readdirSync(`/proc/self/fd/${dir}`)) fs().rmSync(`/proc/self/fd/${dir}/${name}`, { recursive: true, force: true });
  } finally {
    fs().closeSync(dir);
  }
}

/**
 * "apply" mode, before the layer's entries are written: its whiteouts remove what lower
 * layers made, and an entry that is not a directory replaces a lower directory (with its
 * contents, which a plain unlink would refuse).
 */
export function applyDeletions(root: RootDir, members: TarMember[]): void {
  for (const m of members) {
    const parts = cleanName(m.name).split("/").filter(Boolean);
    if (!parts.length || parts.includes("..")) continue; // refused (with a warning) by the extraction
    const base = parts.at(-1)!;
    if (base === OPAQUE_MARKER) clearInRoot(root, parts.slice(0, -1));
    else if (isWhiteout(base)) {
      const t = whiteoutTarget(parts);
      if (t.name !== undefined) removeInRoot(root, [...t.dir, t.name]);
    }
    else if (m.type !== "5") {
      const dir = openNoFollow(root, parts.join("/"), O.DIRECTORY);
      if (dir !== undefined) {
        fs().closeSync(dir);
        removeInRoot(root, parts);
      }
    }
  }
}

/**
 * What a whiteout entry names: the directory it sits in, and the removed name (undefined:
 * opaque). A name that is no file name (`.wh.`, `.wh..`) is refused: it would reach up.
 */
export function whiteoutTarget(parts: string[]): { dir: string[]; name?: string } {
  const base = parts.at(-1)!;
  if (base === OPAQUE_MARKER) return { dir: parts.slice(0, -1) };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === "" || name === "." || name === "..") throw new BuncError(`whiteout ${parts.join("/")} names no file`);
  return { dir: parts.slice(0, -1), name };
}
