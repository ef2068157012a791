// The mountinfo parser: fields, escapes, optional fields and malformed lines.
import { describe, expect, test } from "bun:test";
import { parseMountInfo, readMountInfo, unescapeOctal } from "../../src/linux/mountinfo";

describe("parseMountInfo", () => {
  test("every field of proc(5)'s example line", () => {
    expect(parseMountInfo("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue")).toEqual([{
      mountId: 36, parentId: 35, major: 98, minor: 0, root: "/mnt1", mountPoint: "/mnt2", options: "rw,noatime",
      optional: ["master:1"], fstype: "ext3", source: "/dev/root", superOptions: "rw,errors=continue",
    }]);
  });

  test("no optional fields, or several", () => {
    const [none, two, three] = parseMountInfo([
      "64 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
      "71 64 0:31 / /var/lib rw,relatime shared:7 master:2 - tmpfs tmpfs rw",
      "72 64 0:32 / /x rw shared:1 master:2 propagate_from:3 - tmpfs tmpfs rw",
    ].join("\n"));
    expect(none!.optional).toEqual([]);
    expect(none!.fstype).toBe("ext4");
    expect(two!.optional).toEqual(["shared:7", "master:2"]);
    expect(two!.fstype).toBe("tmpfs");
    expect(three!.optional).toEqual(["shared:1", "master:2", "propagate_from:3"]);
  });

  test("escaped space, tab, newline and backslash in root, mount point and source", () => {
    const [m] = parseMountInfo("72 64 0:32 /a\\040b /my\\040dir\\011x\\012y\\134z rw - fuse.my\\040fs my\\040src rw");
    expect(m!.root).toBe("/a b");
    expect(m!.mountPoint).toBe("/my dir\tx\ny\\z");
    expect(m!.fstype).toBe("fuse.my fs");
    expect(m!.source).toBe("my src");
  });

  test("super options stay as written: an escaped comma must not split a value", () => {
    const [m] = parseMountInfo("80 1 0:50 / /merged rw - overlay overlay rw,lowerdir=/l\\054x,upperdir=/u");
    expect(m!.superOptions).toBe("rw,lowerdir=/l\\054x,upperdir=/u");
    expect(m!.superOptions.split(",").map(unescapeOctal)).toEqual(["rw", "lowerdir=/l,x", "upperdir=/u"]);
  });

  test("a mount point or root named \"-\" is not the separator", () => {
    const [m] = parseMountInfo("90 1 0:60 - - rw shared:4 - tmpfs - rw");
    expect(m).toMatchObject({ root: "-", mountPoint: "-", optional: ["shared:4"], fstype: "tmpfs", source: "-", superOptions: "rw" });
  });

  test("blank, truncated and garbled lines are skipped; the others keep their order", () => {
    const mounts = parseMountInfo([
      "",
      "22 27 0:21 / /proc rw,relatime - proc proc rw",
      "23 27 0:22 / /sys rw,relatime",
      "24 27 0:23 / /t rw - tmpfs tmpfs",
      "25 27 x:y / /bad rw - tmpfs tmpfs rw",
      "not a mount line",
      "27 1 8:1 / / rw - ext4 /dev/vda rw",
      "",
    ].join("\n"));
    expect(mounts.map((m) => m.mountPoint)).toEqual(["/proc", "/"]);
  });

  test("unescapeOctal leaves other backslashes alone", () => {
    expect(unescapeOctal("a\\040b\\x\\04")).toBe("a b\\x\\04");
  });

  test("this process's own table parses, and has a root", () => {
    const mounts = parseMountInfo(readMountInfo());
    expect(mounts.length).toBeGreaterThan(0);
    expect(mounts.some((m) => m.mountPoint === "/")).toBe(true);
  });
});
