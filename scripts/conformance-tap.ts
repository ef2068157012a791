// TAP as runtime-tools prints it (github.com/mndrix/tap-go): "TAP version 13" documents (a
// program may print several), points `ok N - what`, `not ok N`, `# SKIP`, plans `1..N`, and
// JSON-in-YAML diagnostics between `  ---` and `  ...`.

export interface Point { n: number; ok: boolean; skip: boolean; line: string; diag: string[] }
export interface Tap {
  points: Point[];
  /** Sum of the documents' plans; undefined when a document with points has none (it stopped early). */
  plan?: number;
  /** Diagnostic lines before any point (how point-less programs give their verdict). */
  preamble: string[];
}

export function parseTap(text: string): Tap {
  const points: Point[] = [];
  const preamble: string[] = [];
  let plan: number | undefined = 0, docPlan: number | undefined, docPoints = 0;
  let pending: string[] = [], yaml: string[] | undefined;
  const endDoc = () => {
    if (docPlan !== undefined) plan = plan === undefined ? undefined : plan + docPlan;
    else if (docPoints) plan = undefined;
  };
  let started = false;
  for (const line of text.split("\n")) {
    if (yaml) {
      yaml.push(line);
      if (line.trim() !== "...") continue;
      // RuntimeInsideValidate writes the container's output before its point; other blocks follow theirs.
      if (yaml.some((l) => l.includes('"stdout":'))) pending.push(...yaml);
      else (points.at(-1)?.diag ?? preamble).push(...yaml);
      yaml = undefined;
      continue;
    }
    const m = /^(not )?ok (\d+)\b/.exec(line);
    const p = /^1\.\.(\d+)/.exec(line);
    if (line.startsWith("TAP version")) {
      if (started) endDoc();
      started = true;
      docPlan = undefined;
      docPoints = 0;
    } else if (m) {
      points.push({ n: +m[2]!, ok: !m[1], skip: /#\s*SKIP/i.test(line), line, diag: pending });
      pending = [];
      docPoints++;
    } else if (p) docPlan = +p[1]!;
    else if (line.trim() === "---") yaml = [line];
    else if (line.trim()) (points.at(-1)?.diag ?? preamble).push(line);
  }
  endDoc();
  if (!started && !points.length) plan = undefined;
  return { points, plan, preamble };
}

const clip = (s: string, n = 240) => (s.length > n ? s.slice(0, n) + "…" : s);

/** A few readable lines from a point's diagnostics: the container's failed points, errors, values. */
export function summarize(diag: string[]): string[] {
  const out: string[] = [];
  const blocks: string[][] = [];
  let cur: string[] | undefined;
  for (const l of diag) {
    if (l.trim() === "---") cur = [];
    else if (l.trim() === "...") cur && blocks.push(cur), (cur = undefined);
    else if (cur) cur.push(l);
    else out.push(clip(l.trim()));
  }
  for (const b of blocks) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(b.join("\n"));
    } catch {
      out.push(...b.slice(0, 6).map((l) => clip(l.trim())));
      continue;
    }
    for (const [k, v] of Object.entries(obj)) {
      if (k === "reference" || k === "level" || v === "") continue;
      if (k === "stdout" && typeof v === "string") {
        const inner = parseTap(v);
        for (const p of inner.points.filter((p) => !p.ok)) out.push(`container: ${p.line}`, ...summarize(p.diag).slice(0, 4).map((l) => `  ${l}`));
        if (inner.points.length && inner.plan === undefined) out.push(`container: TAP stops after point ${inner.points.at(-1)!.n}`);
      } else if (k === "stderr" && typeof v === "string") out.push(...v.trim().split("\n").slice(0, 3).map((l) => clip(`stderr: ${l}`)));
      else out.push(clip(`${k}: ${typeof v === "string" ? v.trim().replace(/\n+/g, " | ") : JSON.stringify(v)}`));
    }
  }
  return out.slice(0, 14);
}
