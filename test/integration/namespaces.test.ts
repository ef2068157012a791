// Namespaces checked from inside the container (needs root): each type new, joined by
// path, the errors of duplicate or mistyped namespaces, and the time namespace offsets.
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { isRoot, mountsUnder, fileSandbox, waitFor } from "../support/harness";

const sb = fileSandbox();

const NS = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "time"];
const hostNs = (n: string) => readlinkSync(`/proc/self/ns/${n}`);

/** `key value` lines printed by a container. */
function lines(out: string): Record<string, string> {
  return Object.fromEntries(out.trim().split("\n").map((l) => [l.split(" ")[0]!, l.slice(l.indexOf(" ") + 1)]));
}

describe.skipIf(!isRoot)("namespaces (root)", () => {
  // Issue 20.4 (runtime-tools linux_ns_itype): no namespace in the config means the host's,
  // each of them. The config's mounts are made below the rootfs in the host's mount namespace
  // (as runc), and delete takes them away again (runc leaves them).
  for (const path of [{ name: "", env: {} }, { name: " (the Bun init)", env: { BUNC_HOST_SETUP: "0" } }])
    test(`a config without namespaces runs in the host's; its mounts are gone after delete${path.name}`, async () => {
      const id = `nons${path.name ? "-init" : ""}`;
      const script = [
        `for n in ${NS.filter((n) => n !== "time").join(" ")}; do echo ns-$n $(readlink /proc/self/ns/$n); done`,
        "echo masked $(wc -c < /proc/timer_list)",
        "echo devnull $(stat -c %t:%T /dev/null)",
      ].join("; ");
      const b = await sb.bundle(id, ["sh", "-c", `(${script}) > /report`], (c) => {
        c.linux.namespaces = [];
        delete c.hostname;
        c.linux.maskedPaths = ["/proc/timer_list"];
        c.linux.readonlyPaths = [];
      }, true);
      try {
        const created = sb.run(["create", "-b", b, id], { env: path.env });
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        const state = JSON.parse(sb.ok(["state", id]));
        expect(state.status).toBe("created");
        expect(state.pid).toBeGreaterThan(1);
        expect(mountsUnder(b).length).toBeGreaterThan(0); // proc, /dev, ... below the rootfs, on the host
        sb.ok(["start", id]);
        waitFor(() => JSON.parse(sb.ok(["state", id])).status === "stopped", "the container to exit");
        const out = lines(readFileSync(join(b, "rootfs/report"), "utf8"));
        for (const n of NS.filter((n) => n !== "time")) expect(out[`ns-${n}`]).toBe(hostNs(n));
        expect(out.masked).toBe("0");
        expect(out.devnull).toBe("1:3");
        sb.ok(["delete", id]);
        expect(mountsUnder(b)).toEqual([]);
      } finally {
        sb.run(["delete", "--force", id]);
      }
    });

  test("every namespace type is new: links differ from the host's; PID 1, hostname, domainname, only lo", async () => {
    const script = [
      `for n in ${NS.join(" ")}; do echo ns-$n $(readlink /proc/self/ns/$n); done`,
      "echo pid $$",
      "echo hostname $(hostname)",
      "echo domainname $(cat /proc/sys/kernel/domainname)",
      "echo netdev $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ')",
      "echo links $(ip -o link | cut -d: -f2 | tr -d ' ')",
    ].join("; ");
    const b = await sb.bundle("allns", ["sh", "-c", script], (c) => {
      c.linux.namespaces.push({ type: "time" });
      c.hostname = "inside-host";
      c.domainname = "inside.domain";
    });
    const r = sb.run(["run", "-b", b, "allns"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    for (const n of NS) {
      expect(out[`ns-${n}`]).toMatch(new RegExp(`^${n}:\\[\\d+\\]$`));
      expect(out[`ns-${n}`]).not.toBe(hostNs(n));
    }
    expect(out.pid).toBe("1");
    expect(out.hostname).toBe("inside-host");
    expect(out.domainname).toBe("inside.domain");
    expect(out.netdev).toBe("lo");
    expect(out.links).toBe("lo");
  });

  // runc gives a network namespace of the container's own its "loopback" network: lo up
  // (libcontainer/network_linux.go). A server and a client in one container talk over it.
  for (const [how, env, userns] of [["native init", {}, false], ["Bun init", { BUNC_NATIVE_INIT: "0" }, false], ["user namespace", {}, true]] as const)
    test(`a new network namespace has its loopback up (${how})`, async () => {
      const id = `lo-${how.replace(/ /g, "-")}`;
      const b = await sb.bundle(id, ["cat", "/sys/class/net/lo/flags"], (c) => {
        if (userns) {
          c.linux.namespaces.push({ type: "user" });
          c.linux.uidMappings = c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 65536 }];
        }
      });
      const r = sb.run(["run", "-b", b, id], { env });
      expect(r.stderr).toBe("");
      expect(Number(r.stdout.trim()) & 1).toBe(1); // IFF_UP
    });

  test("namespaces not listed are the host's", async () => {
    const b = await sb.bundle("fewns", ["sh", "-c", `for n in net ipc uts cgroup time; do echo ns-$n $(readlink /proc/self/ns/$n); done`], (c) => {
      c.linux.namespaces = [{ type: "pid" }, { type: "mount" }];
      delete c.hostname;
    });
    const r = sb.run(["run", "-b", b, "fewns"]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    for (const n of ["net", "ipc", "uts", "cgroup", "time"]) expect(out[`ns-${n}`]).toBe(hostNs(n));
  });

  test("joining namespaces by path: B in A's network and uts namespaces", async () => {
    const a = await sb.bundle("ns-a", ["sleep", "30"], (c) => (c.hostname = "container-a"));
    sb.ok(["create", "-b", a, "ns-a"]);
    try {
      const pid = JSON.parse(sb.ok(["state", "ns-a"])).pid;
      const b = await sb.bundle("ns-b", ["sh", "-c", "echo net $(readlink /proc/self/ns/net); echo uts $(readlink /proc/self/ns/uts); echo hostname $(hostname)"], (c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "network" && n.type !== "uts");
        c.linux.namespaces.push({ type: "network", path: `/proc/${pid}/ns/net` }, { type: "uts", path: `/proc/${pid}/ns/uts` });
        delete c.hostname;
      });
      const r = sb.run(["run", "-b", b, "ns-b"]);
      expect(r.stderr).toBe("");
      const out = lines(r.stdout);
      expect(out.net).toBe(readlinkSync(`/proc/${pid}/ns/net`));
      expect(out.net).not.toBe(hostNs("net"));
      expect(out.uts).toBe(readlinkSync(`/proc/${pid}/ns/uts`));
      expect(out.hostname).toBe("container-a");
    } finally {
      sb.ok(["delete", "--force", "ns-a"]);
    }
  });

  test("a duplicate namespace type is an error and leaves nothing", async () => {
    const b = await sb.bundle("dupns", ["true"], (c) => c.linux.namespaces.push({ type: "network" }));
    const r = sb.run(["create", "-b", b, "dupns"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('linux.namespaces[6]: duplicate namespace type "network"');
    expect(sb.containers()).toEqual([]);
    expect(mountsUnder(sb.dir)).toEqual([]);
  });

  test("a path of the wrong type, or missing, is an error and leaves nothing", async () => {
    const b = await sb.bundle("wrongns", ["true"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "network");
      c.linux.namespaces.push({ type: "network", path: "/proc/self/ns/ipc" });
    });
    const r = sb.run(["create", "-b", b, "wrongns"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/proc/self/ns/ipc is not a network namespace");
    const m = await sb.bundle("missingns", ["true"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "ipc");
      c.linux.namespaces.push({ type: "ipc", path: "/proc/999999999/ns/ipc" });
    });
    const r2 = sb.run(["create", "-b", m, "missingns"]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("cannot open ipc namespace /proc/999999999/ns/ipc");
    expect(sb.containers()).toEqual([]);
    expect(mountsUnder(sb.dir)).toEqual([]);
  });

  test("hostname or domainname without a uts namespace is an error; the host's names are untouched", async () => {
    const before = [readFileSync("/proc/sys/kernel/hostname", "utf8"), readFileSync("/proc/sys/kernel/domainname", "utf8")];
    const b = await sb.bundle("noutsdomain", ["true"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "uts");
      delete c.hostname;
      c.domainname = "changed.example";
    });
    const r = sb.run(["run", "-b", b, "noutsdomain"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("domainname: needs a new uts namespace");
    const e = await sb.bundle("noutsempty", ["true"], (c) => {
      c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== "uts");
      c.hostname = "";
      c.domainname = "";
    });
    expect(sb.run(["run", "-b", e, "noutsempty"]).code).toBe(0);
    expect([readFileSync("/proc/sys/kernel/hostname", "utf8"), readFileSync("/proc/sys/kernel/domainname", "utf8")]).toEqual(before);
    expect(sb.containers()).toEqual([]);
  });

  test("time namespace: linux.timeOffsets shift boottime and monotonic", async () => {
    const DAY = 86400;
    const b = await sb.bundle("timens", ["cat", "/proc/uptime"], (c) => {
      c.linux.namespaces.push({ type: "time" });
      c.linux.timeOffsets = { boottime: { secs: 10 * DAY, nanosecs: 0 }, monotonic: { secs: 2 * DAY } };
    });
    const uptime = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const before = uptime();
    const r = sb.run(["run", "-b", b, "timens"]);
    const after = uptime();
    expect(r.code).toBe(0);
    // Read between `before` and `after`, shifted by exactly the offset (/proc/uptime has 2 decimals).
    const inside = Number(r.stdout.split(" ")[0]);
    expect(inside).toBeGreaterThanOrEqual(before + 10 * DAY - 0.01);
    expect(inside).toBeLessThanOrEqual(after + 10 * DAY + 0.01);
  });
});
