// Summary statistics and plain-text table formatting for scripts/bench.ts.

export interface Stat {
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

/** Linear-interpolation quantile (q in 0..1) of an unsorted sample. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

const r2 = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : x);

export function stat(xs: number[]): Stat {
  return {
    median: r2(quantile(xs, 0.5)),
    p10: r2(quantile(xs, 0.1)),
    p90: r2(quantile(xs, 0.9)),
    min: r2(Math.min(...xs)),
    max: r2(Math.max(...xs)),
    n: xs.length,
  };
}

export function ratio(a: Stat | undefined | null, b: Stat | undefined | null): number | null {
  if (!a || !b || !b.median) return null;
  return Math.round((a.median / b.median) * 1000) / 1000;
}

/** "12.3 (11.0–14.2)" */
export function cell(s: Stat | undefined | null, digits = 1): string {
  if (!s) return "n/a";
  const f = (x: number) => x.toFixed(digits);
  return `${f(s.median)} (${f(s.p10)}–${f(s.p90)})`;
}

export function table(header: string[], rows: string[][]): string {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "| " + r.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(" | ") + " |";
  const sep = "|" + width.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(header), sep, ...rows.map(line)].join("\n");
}
