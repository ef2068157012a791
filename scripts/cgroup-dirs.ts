// Cgroup directories found by name under /sys/fs/cgroup (every v1 hierarchy and cgroup2): what
// tests, the benchmark and the conformance stage look for to prove nothing was left behind.
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Directories (depth <= maxDepth) whose name `matches`; a match is not searched below. */
export function cgroupDirs(matches: (name: string) => boolean, maxDepth = 6, root = "/sys/fs/cgroup"): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (matches(e.name)) found.push(p);
      else if (depth < maxDepth) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return found;
}
