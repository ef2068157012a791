// A seeded config.json mutator for the fuzz tests: takes a valid config and breaks it
// in the ways a careless or hostile caller would (wrong types, missing fields, huge
// numbers, unicode, nested garbage, prototype keys). Deterministic per seed, so a
// failing case can be replayed from its seed alone.

/** mulberry32: small, fast, good enough to drive mutations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const STRINGS = [
  "", " ", "/", "//", "..", "../../../../etc", "/../../..", "relative/path", "/proc/self/fd/7", "/proc/self/exe",
  "\u0000", "a\u0000b", "ü", "💥", "\ud800", "\u202e/evil", "x".repeat(5000), "%s%s%n", "${HOME}", "'; rm -rf /",
  "SCMP_ACT_KILL", "RLIMIT_NOFILE", "CAP_SYS_ADMIN", "bind", "rbind,ro", "tmpfs", "proc", "user", "mount", "\n", "=",
  "1.0.2", "0.1.0", "2.0.0", "true", "null", "__proto__", "constructor", "toString",
];
const NUMBERS = [
  0, -1, 1, 0.5, -0.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
  2 ** 63, 2 ** 64, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, 1e21, 65535, 65536,
];
const KEYS = ["__proto__", "constructor", "prototype", "", "💥", "type", "path", "destination", "options", "args", "x".repeat(300)];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A random JSON value, nested up to `depth`. */
export function garbage(r: () => number, depth = 3): Json {
  const k = Math.floor(r() * (depth > 0 ? 8 : 5));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return pick(r, NUMBERS);
    case 3: return pick(r, STRINGS);
    case 4: return Math.floor(r() * 1e6) - 5e5;
    case 5: return Array.from({ length: Math.floor(r() * 4) }, () => garbage(r, depth - 1));
    case 6: {
      const o: Record<string, Json> = {};
      // defineProperty: a "__proto__" key must be an own property, as JSON.parse makes it.
      for (let i = Math.floor(r() * 4); i > 0; i--) Object.defineProperty(o, pick(r, KEYS), { value: garbage(r, depth - 1), enumerable: true, configurable: true, writable: true });
      return o;
    }
    default: {
      // Deep nesting: arrays of arrays of objects.
      let v: Json = garbage(r, 0);
      for (let i = Math.floor(r() * 40); i > 0; i--) v = r() < 0.5 ? [v] : { a: v };
      return v;
    }
  }
}

/** Every [container, key] pair in the tree (objects and arrays), for picking a spot to break. */
function slots(root: Json): [any, string | number][] {
  const out: [any, string | number][] = [];
  const walk = (v: Json) => {
    if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); walk(x); });
    else if (v && typeof v === "object") for (const k of Object.keys(v)) { out.push([v, k]); walk(v[k]!); }
  };
  walk(root);
  return out;
}

/** A wrong-typed replacement for `v`: a different JSON kind, or a hostile value of the same kind. */
function wrongType(r: () => number, v: Json): Json {
  if (typeof v === "string") return r() < 0.5 ? pick(r, NUMBERS) : pick(r, STRINGS);
  if (typeof v === "number") return r() < 0.3 ? String(v) : pick(r, NUMBERS);
  if (typeof v === "boolean") return pick(r, [0, 1, "true", null, [true]] as Json[]);
  if (Array.isArray(v)) return pick(r, [{}, "", 0, null, [null], [[]], v.length ? [v[0]!, garbage(r)] : [garbage(r)]] as Json[]);
  if (v && typeof v === "object") return pick(r, [[], "", 0, null, [v]] as Json[]);
  return garbage(r);
}

/** A deep copy of `valid` with 1–3 mutations; deterministic in `seed`. */
export function mutateConfig(valid: Json, seed: number): Json {
  const r = rng(seed);
  let c: Json = JSON.parse(JSON.stringify(valid));
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    if (r() < 0.03) { c = garbage(r); continue; } // the whole document
    const all = slots(c);
    if (!all.length) break;
    const [obj, key] = pick(r, all);
    const op = Math.floor(r() * 6);
    if (op === 0) {
      if (Array.isArray(obj)) obj.splice(key as number, 1);
      else delete obj[key];
    } else if (op === 1 || op === 2) obj[key] = wrongType(r, obj[key]);
    else if (op === 3) obj[key] = garbage(r);
    else if (op === 4 && obj[key] && typeof obj[key] === "object" && !Array.isArray(obj[key])) {
      Object.defineProperty(obj[key], pick(r, KEYS), { value: garbage(r), enumerable: true, configurable: true, writable: true });
    } else obj[key] = pick(r, STRINGS);
  }
  return c;
}
