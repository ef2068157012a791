// A directory tree as comparable lines, one per entry: path, type, mode, owner, mtime,
// size (files), link target, link count, content hash; then one line per xattr. Reads
// through find and python3 (what the host has), not through bunc.
import { readFileSync } from "node:fs";
import { join } from "node:path";

function sh(cmd: string[]): string {
  const p = Bun.spawnSync(cmd);
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

/** `ignoreXattr`: names that say how the tree is stored, not what is in it (overlay's own, SELinux labels). */
export function treeLines(dir: string, o: { linkCount?: boolean; ignoreXattr?: RegExp } = {}): string[] {
  const ignoreXattr = o.ignoreXattr ?? /^(trusted\.overlay\.|security\.selinux)/;
  const lines = sh(["find", dir, "-mindepth", "1", "-printf", "%P\t%y\t%m\t%U:%G\t%T@\t%s\t%l\t%n\n"]).trim().split("\n").filter(Boolean);
  const xattrs = sh(["python3", "-c", `
import os, sys
for root, dirs, files in os.walk(sys.argv[1]):
    for n in dirs + files:
        p = os.path.join(root, n)
        for k in sorted(os.listxattr(p, follow_symlinks=False)):
            print(os.path.relpath(p, sys.argv[1]), k, os.getxattr(p, k, follow_symlinks=False).hex())`, dir]).trim().split("\n").filter(Boolean);
  return [
    ...lines.map((l) => {
      const f = l.split("\t");
      if (f[1] === "d") f[5] = "-"; // a directory's size depends on the filesystem's history
      // Overlay shows a lower file's link count even after a later layer replaced one of its names.
      if (o.linkCount === false) f[7] = "-";
      if (f[1] === "f") f.push(new Bun.CryptoHasher("sha256").update(readFileSync(join(dir, f[0]!))).digest("hex"));
      return f.join("\t");
    }),
    ...xattrs.filter((x) => !ignoreXattr.test(x.split(" ")[1] ?? "")),
  ].sort();
}

/** The lines only in `a` and only in `b` (a readable failure instead of two 500-line arrays). */
export function treeDiff(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const sa = new Set(a), sb = new Set(b);
  return { onlyA: a.filter((l) => !sb.has(l)), onlyB: b.filter((l) => !sa.has(l)) };
}
