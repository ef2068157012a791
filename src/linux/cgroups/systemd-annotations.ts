// Unit properties from annotations, as runc's systemd driver reads them (specconv's
// initSystemdProps): `org.systemd.property.<Name>` = a value in GVariant's text format
// ("uint64 30000000", "true", "'inactive-or-failed'", "['a.service', 'b.service']"),
// passed to StartTransientUnit after bunc's own properties. A name ending in a lowercase
// letter and "Sec" is systemd's "<name>USec", its number of seconds made microseconds.
import type { Prop } from "./systemd";

export const SYSTEMD_PROPERTY = "org.systemd.property.";

/** The properties the annotations ask for (none without the prefix); throws naming the annotation. */
export function annotationProperties(annotations: Record<string, string> | undefined): Prop[] {
  const props: Prop[] = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(SYSTEMD_PROPERTY)) continue;
    let name = key.slice(SYSTEMD_PROPERTY.length);
    const at = `annotations["${key}"]`;
    if (!/^[A-Za-z]{3,}$/.test(name)) throw new Error(`${at}: not a systemd property name (three or more ASCII letters)`);
    let v: Variant;
    try {
      v = parseVariant(text);
    } catch (e: any) {
      throw new Error(`${at}: "${text}" is not a GVariant value: ${e.message}`);
    }
    if (/[a-z]Sec$/.test(name)) {
      if (!NUMERIC.has(v.sig)) throw new Error(`${at}: a number of seconds is needed (${name.slice(0, -3)}USec is in microseconds)`);
      name = `${name.slice(0, -3)}USec`;
      const us = v.sig === "d" ? BigInt(Math.trunc(Number(v.value) * 1e6)) : BigInt(v.value as string | number) * 1_000_000n;
      if (us < 0n) throw new Error(`${at}: a negative number of seconds`);
      v = { sig: "t", value: String(us) };
    }
    props.push([name, v.sig, v.value]);
  }
  return props;
}

interface Variant { sig: string; value: unknown }

const ESCAPES: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };
const NUMERIC = new Set(["y", "n", "q", "i", "u", "x", "t", "d"]);
/** GVariant's type keywords and the D-Bus signature each stands for. */
const KEYWORDS: Record<string, string> = {
  boolean: "b", byte: "y", int16: "n", uint16: "q", int32: "i", uint32: "u", handle: "h", int64: "x", uint64: "t",
  double: "d", string: "s", objectpath: "o", signature: "g",
};
const RANGES: Record<string, [bigint, bigint]> = {
  y: [0n, 255n], n: [-32768n, 32767n], q: [0n, 65535n], i: [-(2n ** 31n), 2n ** 31n - 1n], u: [0n, 2n ** 32n - 1n],
  h: [-(2n ** 31n), 2n ** 31n - 1n], x: [-(2n ** 63n), 2n ** 63n - 1n], t: [0n, 2n ** 64n - 1n],
};

/** The subset of GVariant's text format systemd properties take: basic values, arrays, tuples, type annotations. */
export function parseVariant(text: string): Variant {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(i < text.length ? `${what} at "${text.slice(i, i + 12)}"` : `${what} at the end`);
  };
  /** One value; `want` is the signature it must have (from an annotation or the array's first element). */
  const value = (want?: string): Variant => {
    ws();
    const c = text[i];
    if (c === "@") {
      i++;
      const start = i;
      while (i < text.length && !/\s/.test(text[i]!)) i++;
      return value(text.slice(start, i));
    }
    const word = /^[a-z0-9]+/.exec(text.slice(i))?.[0];
    if (word && KEYWORDS[word] && /\s/.test(text[i + word.length] ?? "")) {
      i += word.length;
      return value(KEYWORDS[word]);
    }
    if (c === "[") return array(want);
    if (c === "(") return tuple(want);
    if (c === "'" || c === '"') return typed({ sig: "s", value: string() }, want);
    if (word === "true" || word === "false") {
      i += word.length;
      return typed({ sig: "b", value: word === "true" }, want);
    }
    const num = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)/.exec(text.slice(i))?.[0];
    if (num) {
      i += num.length;
      const isFloat = !num.includes("0x") && /[.eE]/.test(num);
      if (isFloat || want === "d") return typed({ sig: "d", value: Number(num) }, want);
      const n = num.startsWith("-") ? -BigInt(num.slice(1)) : BigInt(num.replace(/^\+/, ""));
      const sig = want && RANGES[want] ? want : "i";
      const [lo, hi] = RANGES[sig]!;
      if (n < lo || n > hi) fail(`${num} is out of range for ${sig}`);
      return typed({ sig, value: sig === "x" || sig === "t" ? String(n) : Number(n) }, want);
    }
    return fail("a value was expected");
  };
  const typed = (v: Variant, want?: string): Variant => {
    if (want && want !== v.sig && !(v.sig === "s" && (want === "o" || want === "g"))) fail(`a ${v.sig} where ${want} was expected`);
    return want ? { sig: want, value: v.value } : v;
  };
  const string = (): string => {
    const q = text[i++]!;
    let s = "";
    while (i < text.length && text[i] !== q) {
      if (text[i] === "\\") {
        const e = text[++i];
        s += ESCAPES[e ?? ""] ?? e ?? "";
        i++;
      } else s += text[i++];
    }
    if (text[i] !== q) fail("an unterminated string");
    i++;
    return s;
  };
  const array = (want?: string): Variant => {
    if (want && !want.startsWith("a")) fail(`an array where ${want} was expected`);
    i++; // [
    let elem = want?.slice(1);
    const items: unknown[] = [];
    ws();
    while (text[i] !== "]") {
      if (items.length) {
        if (text[i] !== ",") fail("a , or ] was expected");
        i++;
      }
      const v = value(elem);
      elem ??= v.sig;
      items.push(v.value);
      ws();
      if (i >= text.length) fail("an unterminated array");
    }
    i++;
    if (!elem) fail("an empty array needs its type (@as [])");
    return { sig: `a${elem}`, value: items };
  };
  const tuple = (want?: string): Variant => {
    if (want && !want.startsWith("(")) fail(`a tuple where ${want} was expected`);
    i++; // (
    const members = want ? splitTuple(want) : undefined;
    const sigs: string[] = [], items: unknown[] = [];
    ws();
    while (text[i] !== ")") {
      if (items.length) {
        if (text[i] !== ",") fail("a , or ) was expected");
        i++;
      }
      const v = value(members?.[items.length]);
      sigs.push(v.sig);
      items.push(v.value);
      ws();
      if (i >= text.length) fail("an unterminated tuple");
    }
    i++;
    return { sig: `(${sigs.join("")})`, value: items };
  };
  const v = value();
  ws();
  if (i < text.length) fail("nothing more was expected");
  return v;
}

/** "(sas)" -> ["s", "as"]: the member signatures of a tuple's. */
function splitTuple(sig: string): string[] {
  const out: string[] = [];
  let i = 1;
  const one = (): string => {
    const start = i;
    if (sig[i] === "a") {
      i++;
      one();
    } else if (sig[i] === "(" || sig[i] === "{") {
      const close = sig[i] === "(" ? ")" : "}";
      i++;
      while (sig[i] !== close && i < sig.length) one();
      i++;
    } else i++;
    return sig.slice(start, i);
  };
  while (i < sig.length - 1) out.push(one());
  return out;
}
