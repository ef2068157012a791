// Removing a private copy of a rootfs a user made: its read-only directories (a 0555 /usr/bin,
// or one the container's command made) refuse a user the removal of what they hold, where
// root is not asked. Each directory in the way is made writable by its owner, then removed.
import { chmodSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Makes every directory under `dir` (itself too) owner-writable, never following a symlink. */
function openUp(dir: string): void {
  try {
    chmodSync(dir, 0o700);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) openUp(join(dir, e.name));
  } catch {}
}

/** `rm -rf path`, as a user too: read-only directories inside it are opened up first. */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (e: any) {
    if (e?.code !== "EACCES" && e?.code !== "EPERM") throw e;
    let dir = false;
    try { dir = lstatSync(path).isDirectory(); } catch {}
    if (!dir) throw e;
    openUp(path);
    rmSync(path, { recursive: true, force: true });
  }
}
