// POSIX path arithmetic with node:path's results, without loading node:path (~0.35 ms of
// every command's start-up). test/unit/paths.test.ts compares each with node:path.

/** node:path's normalize: "." and ".." resolved, slashes collapsed, a trailing slash kept. */
export function normalize(p: string): string {
  if (p === "") return ".";
  const absolute = p.startsWith("/");
  const trailing = p.endsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length && out.at(-1) !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(part);
  }
  let s = out.join("/");
  if (!s && !absolute) s = ".";
  if (s && trailing) s += "/";
  return absolute ? "/" + s : s;
}

export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** node:path's resolve: right to left until absolute, else from the working directory; no trailing slash. */
export function resolve(...parts: string[]): string {
  let p = "";
  for (let i = parts.length - 1; i >= 0 && !p.startsWith("/"); i--) if (parts[i] !== "") p = p ? `${parts[i]}/${p}` : parts[i]!;
  if (!p.startsWith("/")) p = p ? `${process.cwd()}/${p}` : process.cwd();
  const n = normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

export function dirname(p: string): string {
  if (p === "") return ".";
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  // As node's: all but the last slash of the separator run ("a//b" -> "a/").
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : trimmed.slice(0, i);
}

export function basename(p: string, ext?: string): string {
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "";
  const b = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  return ext && ext !== b && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
}

/** node:path's relative(from, to) for absolute or relative paths (resolved first). */
export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter(Boolean), b = resolve(to).split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}
