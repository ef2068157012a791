// Unit tests for running inside another container: detecting it, the hints added to
// permission errors, and telling a user namespace from the initial one.
import { describe, expect, test } from "bun:test";
import { detectOuterContainer, outerContainerHint } from "../../src/linux/outer-container";
import { inUserNamespace } from "../../src/linux/cgroups/manager";

const probe = (files: Record<string, string>) => ({
  exists: (p: string) => p in files,
  read: (p: string) => files[p],
});

describe("detectOuterContainer", () => {
  test("container= in PID 1's environment names the engine", () => {
    expect(detectOuterContainer(probe({ "/proc/1/environ": "PATH=/bin\0container=podman\0HOME=/root\0" }))).toBe("podman");
    expect(detectOuterContainer(probe({ "/proc/1/environ": "container=lxc\0" }))).toBe("lxc");
  });
  test("marker files: /run/.containerenv (podman), /.dockerenv (docker)", () => {
    expect(detectOuterContainer(probe({ "/run/.containerenv": "" }))).toBe("podman");
    expect(detectOuterContainer(probe({ "/.dockerenv": "" }))).toBe("docker");
    // An environ without container= (docker's) or an unreadable one falls back to the files.
    expect(detectOuterContainer(probe({ "/proc/1/environ": "PATH=/bin\0", "/.dockerenv": "" }))).toBe("docker");
  });
  test("a host: nothing", () => {
    expect(detectOuterContainer(probe({ "/proc/1/environ": "PATH=/bin\0container=\0" }))).toBeUndefined();
    expect(detectOuterContainer(probe({}))).toBeUndefined();
  });
});

describe("outerContainerHint", () => {
  test("permission errors in a container say what the outer container must allow", () => {
    expect(outerContainerHint("proc", "EPERM", "podman")).toContain("--security-opt unmask=/proc/*");
    expect(outerContainerHint("namespaces", "EPERM", "docker")).toContain("--privileged");
    expect(outerContainerHint("namespaces", "EPERM", "docker")).toContain("bunc spec --rootless");
    expect(outerContainerHint("hostname", "EPERM", "podman")).toContain("seccomp=unconfined");
    expect(outerContainerHint("cgroups", "EROFS", "podman")).toContain("--privileged");
    expect(outerContainerHint("mount", "EACCES", "podman")).toContain("SYS_ADMIN");
    for (const what of ["namespaces", "proc", "mount", "hostname", "cgroups"] as const) {
      const h = outerContainerHint(what, "EPERM", "podman");
      expect(h).toStartWith(" — bunc runs in a podman container");
      expect(h).not.toContain("\n");
    }
  });
  test("nothing on a host or for other errors", () => {
    expect(outerContainerHint("proc", "EPERM", undefined)).toBe("");
    expect(outerContainerHint("proc", "ENOENT", "podman")).toBe("");
    expect(outerContainerHint("proc", undefined, "podman")).toBe("");
  });
});

describe("inUserNamespace", () => {
  test("the identity map of all ids is the initial user namespace", () => {
    expect(inUserNamespace("         0          0 4294967295\n")).toBe(false);
    expect(inUserNamespace("         0     100000      65536\n")).toBe(true);
    expect(inUserNamespace("0 0 1000\n1000 1000 4294966295\n")).toBe(true);
    expect(inUserNamespace(undefined)).toBe(false);
  });
});
