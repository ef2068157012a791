// The tar push parser: members and bodies whatever the chunking, bodies passed on as views of
// the input (nothing queued: at most a header block is held), GNU/PAX names, corrupt input.
import { describe, expect, test } from "bun:test";
import { pack } from "../support/tar";
import { octal, TarReader, type TarHeader } from "../../src/bundle/tar-reader";

interface Got { h: TarHeader; body: string }

function read(tar: Uint8Array, chunk = tar.length): Got[] {
  const got: Got[] = [];
  const reader = new TarReader((h) => {
    const g = { h, body: "" };
    got.push(g);
    return { data: (c) => void (g.body += new TextDecoder().decode(c)), end: () => {} };
  });
  for (let i = 0; i < tar.length; i += chunk) reader.push(tar.subarray(i, i + chunk));
  reader.end();
  return got;
}

/** A ustar header block (GNU tar's own records: L long names, base-256 sizes). */
function header(name: string, flag: string, size: number, base256 = false): Uint8Array {
  const b = new Uint8Array(512);
  const put = (s: string, at: number) => b.set(new TextEncoder().encode(s), at);
  put(name, 0);
  put("0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  if (base256) {
    b[124] = 0x80;
    for (let i = 135, n = size; i > 124; i--, n = Math.floor(n / 256)) b[i] = n & 0xff;
  } else put(size.toString(8).padStart(11, "0") + "\0", 124);
  put("14707041260\0", 136);
  put(flag, 156);
  put("ustar  \0", 257);
  put("        ", 148);
  const sum = b.reduce((a, x) => a + x, 0);
  put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return b;
}

const padded = (s: string) => {
  const b = new Uint8Array(Math.ceil(s.length / 512) * 512);
  b.set(new TextEncoder().encode(s));
  return b;
};

describe("TarReader", () => {
  test("the same members and bodies whether fed whole or a few bytes at a time", async () => {
    const long = `dir/${"x".repeat(150)}`;
    const tar = await pack([
      [{ name: "d", type: "directory", mode: 0o750, uid: 7, gid: 8, mtime: new Date(1_700_000_000_000) }],
      [{ name: "d/f", mode: 0o4755 }, "hello\n".repeat(300)],
      [{ name: long, mode: 0o644 }, "long"],
      [{ name: "l", type: "symlink", linkname: "d/f" }],
      [{ name: "h", type: "link", linkname: "d/f" }],
      [{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }],
      [{ name: "p", mode: 0o644, pax: { "SCHILY.xattr.user.k": "v", mtime: "1700000000.5" } }, "x"],
      [{ name: "empty", mode: 0o600 }],
    ]);
    const whole = read(tar);
    expect(whole.map((g) => [g.h.name, g.h.type, g.h.size, g.h.linkname])).toEqual([
      ["d", "directory", 0, ""], ["d/f", "file", 1800, ""], [long, "file", 4, ""], ["l", "symlink", 0, "d/f"],
      ["h", "link", 0, "d/f"], ["null", "character-device", 0, ""], ["p", "file", 1, ""], ["empty", "file", 0, ""],
    ]);
    expect(whole[0]!.h).toMatchObject({ mode: 0o750, uid: 7, gid: 8, mtime: 1_700_000_000 });
    expect(whole[1]!.h.mode).toBe(0o4755);
    expect(whole[1]!.body).toBe("hello\n".repeat(300));
    expect(whole[5]!.h).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(whole[6]!.h.pax).toMatchObject({ "SCHILY.xattr.user.k": "v", mtime: "1700000000.5" });
    for (const chunk of [1, 7, 511, 513, 4096]) expect(read(tar, chunk)).toEqual(whole);
  });

  test("bodies are views of the input, and it holds at most a header block between pushes", async () => {
    const body = "b".repeat(200_000);
    const tar = await pack([[{ name: "a", mode: 0o644 }, body], [{ name: "b", mode: 0o644 }, body]]);
    const inputs = new Set<ArrayBufferLike>();
    let held = 0, bytes = 0;
    const reader = new TarReader(() => ({
      data: (c) => {
        expect(inputs.has(c.buffer)).toBe(true); // not a copy
        bytes += c.length;
      },
      end: () => {},
    }));
    for (let i = 0; i < tar.length; i += 1000) {
      const chunk = tar.slice(i, i + 1000); // each push its own buffer
      inputs.add(chunk.buffer);
      reader.push(chunk);
      held = Math.max(held, reader.buffered);
    }
    reader.end();
    expect(bytes).toBe(400_000);
    expect(held).toBeLessThanOrEqual(512);
  });

  test("GNU long names and links, base-256 sizes, a global PAX header", () => {
    const name = `n/${"y".repeat(200)}`, link = `t/${"z".repeat(120)}`;
    const body = "data!";
    const tar = new Uint8Array([
      ...header("././@LongLink", "L", name.length + 1), ...padded(name + "\0"),
      ...header("././@LongLink", "K", link.length), ...padded(link),
      ...header("short", "1", 0),
      ...header("big", "0", body.length, true), ...padded(body),
      ...header("pax_global_header", "g", 19), ...padded("19 comment=abcdefg\n"),
      ...header("after", "0", 0),
      ...new Uint8Array(1024),
    ]);
    const got = read(tar, 100);
    expect(got.map((g) => [g.h.name, g.h.type, g.h.linkname, g.h.size, g.body])).toEqual([
      [name, "link", link, 0, ""], ["big", "file", "", 5, body], ["after", "file", "", 0, ""],
    ]);
    expect(got[2]!.h.pax).toEqual({ comment: "abcdefg" });
  });

  test("a zero block ends the archive; a truncated member or a bad checksum is an error", async () => {
    const tar = await pack([[{ name: "a", mode: 0o644 }, "x".repeat(2000)], [{ name: "b", mode: 0o644 }, "y"]]);
    expect(read(new Uint8Array([...tar, ...new TextEncoder().encode("trailing garbage after the end")])).length).toBe(2);
    expect(() => read(tar.subarray(0, 1500))).toThrow("Unexpected end of data");
    expect(() => read(tar.subarray(0, 300))).toThrow("Unexpected end of data");
    const bad = new Uint8Array(tar);
    bad[2560 + 3] ^= 1; // the second header
    expect(() => read(bad)).toThrow("Invalid tar header (bad checksum at byte 2560)");
  });
});

// octal() reads a field byte by byte; the reference is what it replaced: the field's text up to
// its first NUL, trimmed, through parseInt(_, 8), 0 for none. Fields of digits, spaces, NULs,
// signs, whitespace and other bytes, and GNU base-256 numbers.
test("octal fields read as parseInt reads their text, and GNU base-256", () => {
  const reference = (b: Uint8Array, at: number, len: number) => {
    const nul = b.indexOf(0, at);
    return parseInt(new TextDecoder().decode(b.subarray(at, nul < 0 || nul > at + len ? at + len : nul)).trim(), 8) || 0;
  };
  const alphabet = [..."01234567 89-+\t\n\rx"].map((c) => c.charCodeAt(0)).concat([0, 0, 0, 0x0b, 0x0c, 0x7f]);
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let k = 0; k < 20_000; k++) {
    const len = 1 + rand(12), b = new Uint8Array(len + 2);
    for (let i = 0; i < b.length; i++) b[i] = alphabet[rand(alphabet.length)]!;
    expect([k, octal(b, 1, len)]).toEqual([k, reference(b, 1, len)]);
  }
  expect(octal(new Uint8Array([0x80, 0, 0, 0, 0, 0, 1, 0]), 0, 8)).toBe(256);
  expect(octal(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 8)).toBe(-2);
  expect(octal(new TextEncoder().encode("00000000644\0"), 0, 12)).toBe(0o644);
});

test("the checksum: a header with any bytes is read when its field holds their sum (the field as spaces), refused at one off", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let n = 0; n < 2000; n++) {
    const b = new Uint8Array(512).map(rand);
    b[0] = 0x61; // a name
    b[156] = 0x30; // a regular file
    b.fill(0x30, 124, 135); // of size 0
    b[135] = 0;
    b.fill(0x20, 148, 156);
    const sum = b.reduce((s, x) => s + x, 0); // byte by byte, as POSIX defines it
    const field = (s: number) => new TextEncoder().encode(s.toString(8).padStart(6, "0") + "\0 ");
    for (const [s, ok] of [[sum, true], [sum + 1, false]] as const) {
      b.set(field(s), 148);
      const read = () => new TarReader(() => {}).push(b);
      if (ok) expect(read).not.toThrow();
      else expect(read).toThrow(/bad checksum/);
    }
  }
});
