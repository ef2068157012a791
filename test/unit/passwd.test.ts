// The /etc/passwd parser and its lookups, and HOME taken from it.
import { describe, expect, test } from "bun:test";
import { homeDir, parsePasswd, userName, withHome } from "../../src/linux/passwd";

const PASSWD = [
  "# comment:x:5:5::/comment:/bin/sh",
  "root:x:0:0:root:/root:/bin/bash",
  "",
  "  daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin  ",
  "short:x:7",
  "nohome:x:8:8:gecos",
  "emptyhome:x:9:9:::/bin/sh",
  "noid:x::0::/noid:/bin/sh",
  "badid:x:1a:0::/badid:/bin/sh",
  "truncated:x",
  "second:x:8:8::/second:/bin/sh",
  "crlf:x:10:10::/crlf:/bin/sh\r",
].join("\n");

describe("parsePasswd", () => {
  test("all seven fields", () => {
    expect(parsePasswd("root:x:0:0:root:/root:/bin/bash")).toEqual([{ name: "root", uid: 0, gid: 0, gecos: "root", home: "/root", shell: "/bin/bash" }]);
  });
  test("comments, blank lines and lines without a numeric UID are skipped; spaces around a line trimmed", () => {
    expect(parsePasswd(PASSWD).map((e) => e.name)).toEqual(["root", "daemon", "short", "nohome", "emptyhome", "second", "crlf"]);
    expect(parsePasswd(PASSWD).find((e) => e.name === "daemon")!.shell).toBe("/usr/sbin/nologin");
    expect(parsePasswd(PASSWD).at(-1)!.shell).toBe("/bin/sh");
  });
  test("missing fields are undefined, empty ones \"\"", () => {
    const byName = Object.fromEntries(parsePasswd(PASSWD).map((e) => [e.name, e]));
    expect(byName.short).toEqual({ name: "short", uid: 7, gid: undefined, gecos: undefined, home: undefined, shell: undefined });
    expect(byName.nohome!.home).toBeUndefined();
    expect(byName.emptyhome).toMatchObject({ gecos: "", home: "", shell: "/bin/sh" });
  });
  test("a non-numeric GID is undefined", () => {
    expect(parsePasswd("u:x:3:g:::")[0]!.gid).toBeUndefined();
  });
});

describe("lookups", () => {
  test("userName: the first entry of the uid", () => {
    expect(userName(0, PASSWD)).toBe("root");
    expect(userName(8, PASSWD)).toBe("nohome");
    expect(userName(42, PASSWD)).toBeUndefined();
    expect(userName(0, "")).toBeUndefined();
  });
  test("homeDir: the first entry of the uid that has the field", () => {
    expect(homeDir(0, PASSWD)).toBe("/root");
    expect(homeDir(7, PASSWD)).toBeUndefined();
    expect(homeDir(8, PASSWD)).toBe("/second");
    expect(homeDir(9, PASSWD)).toBe("");
  });
  test("withHome: HOME from the entry, \"/\" without one or with an empty one, kept when set", () => {
    expect(withHome(["A=1"], 0, PASSWD)).toEqual(["A=1", "HOME=/root"]);
    expect(withHome([], 9, PASSWD)).toEqual(["HOME=/"]);
    expect(withHome([], 42, PASSWD)).toEqual(["HOME=/"]);
    expect(withHome([], 0, "")).toEqual(["HOME=/"]);
    expect(withHome(["HOME=/mine"], 0, PASSWD)).toEqual(["HOME=/mine"]);
  });
  // runc's prepareEnv (libcontainer/env.go; its env.bats): the last of a name wins, in the place
  // of that last one; an empty HOME counts as unset.
  test("withHome: a name given twice is set once, to its last value; an empty HOME is replaced", () => {
    expect(withHome(["ONE=two", "ONE=", "PATH=/usr/bin:/bin"], 0, PASSWD)).toEqual(["ONE=", "PATH=/usr/bin:/bin", "HOME=/root"]);
    expect(withHome(["A=1", "ONE=two", "B=2", "ONE=three"], 0, PASSWD)).toEqual(["A=1", "B=2", "ONE=three", "HOME=/root"]);
    expect(withHome(["HOME="], 0, PASSWD)).toEqual(["HOME=/root"]);
    expect(withHome(["HOME=/override", "HOME="], 0, PASSWD)).toEqual(["HOME=/root"]);
    expect(withHome(["HOME=", "HOME=/override"], 0, PASSWD)).toEqual(["HOME=/override"]);
    let read = 0;
    expect(withHome(["HOME=/x"], 0, () => (read++, PASSWD))).toEqual(["HOME=/x"]);
    expect(read).toBe(0); // the container's passwd is not read when HOME is set
  });
});
