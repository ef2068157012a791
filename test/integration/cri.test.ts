// Kubernetes' way in: containerd's CRI plugin (Debian's containerd 1.6, started here with
// everything under a private directory) with a runtime handler "bunc" (the
// io.containerd.runc.v2 shim with BinaryName = dist/bunc), driven over gRPC with the
// runtime.v1 calls the kubelet makes for a pod whose RuntimeClass has `handler: bunc`.
// The pause image is Debian's static catatonit (`catatonit -P`), the app image the Alpine
// minirootfs; both are OCI archives built here and imported into k8s.io (no pulls).
// Pods use the host network, so no CNI plugin is needed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { BUNC_BINARY, engineSkipReason, pidsWithCmdline } from "../support/engines";
import { CATATONIT, ContainerdCri, HANDLER } from "../support/cri";
import { cgroupDirs } from "../../scripts/cgroup-dirs";

const skipReason = engineSkipReason(["containerd", "catatonit"], ["containerd", "ctr", "containerd-shim-runc-v2", CATATONIT]);
if (skipReason) console.warn(`CRI tests skipped: ${skipReason}`);

/** Cgroup directories (any hierarchy, any depth) whose name is one of `names`. */
function cgroupsNamed(names: string[]): string[] {
  return cgroupDirs((n) => names.includes(n));
}

/** Mount points whose path names one of `ids`. */
function mountsNaming(ids: string[]): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => ids.some((id) => m.includes(id)));
}

describe.skipIf(!!skipReason)("containerd CRI (runtime.v1) with RuntimeClass handler bunc", () => {
  let cd: ContainerdCri;
  const uid = Math.random().toString(36).slice(2, 10);
  const name = `pod-${uid}`;
  let logDir: string;
  let sandboxConfig: Record<string, unknown>;
  let podId = "";
  let appId = "";

  const buncRoot = () => join(cd.buncRoot, cd.namespace); // the shim's --root: <Root>/<namespace>
  const buncState = () => (existsSync(buncRoot()) ? readdirSync(buncRoot()) : []);
  const bunc = (args: string[]) => Bun.spawnSync([BUNC_BINARY, "--root", buncRoot(), ...args], { stdin: "ignore" });
  const status = async (id: string) => (await cd.rpc("ContainerStatus", { container_id: id })).status;

  beforeAll(async () => {
    cd = new ContainerdCri();
    logDir = join(cd.dir, "pods", `default_${name}_${uid}`);
    sandboxConfig = {
      metadata: { name, uid, namespace: "default", attempt: 0 },
      // No hostname: the kubelet sets none for host-network pods (containerd would put it in a
      // spec without a UTS namespace, which runc and bunc refuse).
      log_directory: logDir,
      labels: { app: "bunc-cri-test" },
      linux: {
        cgroup_parent: cd.podCgroupParent,
        security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } },
      },
    };
    await cd.start();
    cd.importImages();
  });

  afterAll(async () => {
    await cd?.stop();
  });

  test("the CRI plugin answers runtime.v1 and sees the imported images", async () => {
    const v = await cd.rpc("Version", { version: "v1" });
    expect(v.runtime_name).toBe("containerd");
    expect(v.runtime_api_version).toBe("v1");
    for (const image of [cd.image, cd.pauseImage]) {
      const s = await cd.imageRpc("ImageStatus", { image: { image } });
      expect(s.image?.repo_tags).toContain(image);
    }
  });

  test("RunPodSandbox with runtime_handler bunc: catatonit -P is the pod's pause, run by bunc", async () => {
    podId = (await cd.rpc("RunPodSandbox", { config: sandboxConfig, runtime_handler: HANDLER })).pod_sandbox_id;
    expect(podId).toMatch(/^[0-9a-f]{64}$/);
    const s = (await cd.rpc("PodSandboxStatus", { pod_sandbox_id: podId })).status;
    expect(s.state).toBe("SANDBOX_READY");
    expect(s.runtime_handler).toBe(HANDLER);

    // bunc has the sandbox in its state root, running catatonit.
    expect(buncState()).toEqual([podId]);
    const st = bunc(["state", podId]);
    expect(st.exitCode).toBe(0);
    const state = JSON.parse(st.stdout.toString());
    expect(state.status).toBe("running");
    expect(readFileSync(`/proc/${state.pid}/cmdline`, "utf8")).toBe("/catatonit\0-P\0");
    // In the pod's cgroup parent.
    expect(readFileSync(`/proc/${state.pid}/cgroup`, "utf8")).toContain(`${cd.podCgroupParent}/${podId}`);
  });

  test("CreateContainer, StartContainer: RUNNING, output in the CRI log file", async () => {
    appId = (await cd.rpc("CreateContainer", {
      pod_sandbox_id: podId,
      sandbox_config: sandboxConfig,
      config: {
        metadata: { name: "app", attempt: 0 },
        image: { image: cd.image },
        command: ["sh", "-c", "echo hello from bunc; echo to stderr >&2; trap 'exit 0' TERM; sleep 1000 & wait"],
        envs: [{ key: "GREETING", value: "hi" }],
        log_path: "app/0.log",
        // What the kubelet sends with SeccompDefault: containerd's default profile.
        linux: { security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" }, seccomp: { profile_type: "RuntimeDefault" } } },
      },
    })).container_id;
    expect(appId).toMatch(/^[0-9a-f]{64}$/);
    expect((await status(appId)).state).toBe("CONTAINER_CREATED");

    await cd.rpc("StartContainer", { container_id: appId });
    const s = await status(appId);
    expect(s.state).toBe("CONTAINER_RUNNING");
    expect(s.log_path).toBe(join(logDir, "app/0.log"));
    expect(buncState().sort()).toEqual([podId, appId].sort());
    const app = JSON.parse(bunc(["state", appId]).stdout.toString());
    expect(app.status).toBe("running");
    // The pod's namespaces: IPC joined from the pause, the host's network, a PID namespace of its own.
    const pause = JSON.parse(bunc(["state", podId]).stdout.toString());
    const ns = (pid: number, type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);
    expect(ns(app.pid, "ipc")).toBe(ns(pause.pid, "ipc"));
    expect(ns(app.pid, "ipc")).not.toBe(ns(process.pid, "ipc"));
    expect(ns(app.pid, "net")).toBe(ns(process.pid, "net"));
    expect(ns(app.pid, "pid")).not.toBe(ns(pause.pid, "pid"));

    // The CRI log format: `<RFC 3339 time> <stream> <F|P> <line>`, written by containerd
    // from the shim's pipes (the container's stdout and stderr).
    const ts = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`;
    let log = "";
    for (let i = 0; i < 400 && !log.includes("to stderr\n"); i++) {
      if (existsSync(s.log_path)) log = readFileSync(s.log_path, "utf8");
      if (!log.includes("to stderr\n")) await Bun.sleep(25);
    }
    const lines = log.split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.includes(" stdout "))).toMatch(new RegExp(`^${ts} stdout F hello from bunc$`));
    expect(lines.find((l) => l.includes(" stderr "))).toMatch(new RegExp(`^${ts} stderr F to stderr$`));
  });

  test("ExecSync: a probe in the container (bunc exec through the shim)", async () => {
    const r = await cd.rpc("ExecSync", { container_id: appId, cmd: ["cat", "/etc/alpine-release"], timeout: 30 });
    expect(r.stdout.toString()).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(r.stderr.toString()).toBe("");
    expect(r.exit_code).toBe(0);

    const e = await cd.rpc("ExecSync", { container_id: appId, cmd: ["sh", "-c", "echo $GREETING; echo oops >&2; exit 3"], timeout: 30 });
    expect(e.stdout.toString()).toBe("hi\n");
    expect(e.stderr.toString()).toBe("oops\n");
    expect(e.exit_code).toBe(3);

    const sc = await cd.rpc("ExecSync", { container_id: appId, cmd: ["grep", "^Seccomp:", "/proc/self/status"], timeout: 30 });
    expect(sc.stdout.toString()).toBe("Seccomp:\t2\n");
  });

  test("StopContainer: SIGTERM reaches the app, EXITED with its status; RemoveContainer", async () => {
    await cd.rpc("StopContainer", { container_id: appId, timeout: 30 });
    const s = await status(appId);
    expect(s.state).toBe("CONTAINER_EXITED");
    expect(s.exit_code).toBe(0);
    expect(s.finished_at).toBeGreaterThan(0);

    await cd.rpc("RemoveContainer", { container_id: appId });
    const gone = await status(appId).then(() => "still there", (e: Error) => e.message);
    expect(gone).toMatch(/not found/);
    expect(buncState()).toEqual([podId]);
  });

  test("a container in the pod's PID namespace: what its init leaves is killed when it exits", async () => {
    // The CRI default (and shareProcessNamespace): no PID namespace of its own, so when its
    // init exits the shim kills the rest with `bunc kill --all <id> KILL`.
    const mark = String(100_000 + Math.floor(Math.random() * 800_000));
    const leftovers = () => pidsWithCmdline(`sleep\0${mark}\0`);
    let id = "";
    try {
      id = (await cd.rpc("CreateContainer", {
        pod_sandbox_id: podId,
        sandbox_config: sandboxConfig,
        config: {
          metadata: { name: "shared-pid", attempt: 0 },
          image: { image: cd.image },
          command: ["sh", "-c", `sleep ${mark} </dev/null >/dev/null 2>&1 & echo started`],
          log_path: "shared-pid/0.log",
          linux: { security_context: { namespace_options: { network: "NODE", pid: "POD", ipc: "POD" } } },
        },
      })).container_id;
      await cd.rpc("StartContainer", { container_id: id });
      let s = await status(id);
      for (let i = 0; i < 400 && s.state !== "CONTAINER_EXITED"; i++) {
        await Bun.sleep(25);
        s = await status(id);
      }
      expect(s.state).toBe("CONTAINER_EXITED");
      expect(s.exit_code).toBe(0);
      for (let i = 0; i < 200 && leftovers().length; i++) await Bun.sleep(25);
      expect(leftovers()).toEqual([]);
      await cd.rpc("RemoveContainer", { container_id: id });
    } finally {
      for (const pid of leftovers()) try { process.kill(pid, 9); } catch {}
    }
  });

  test("StopPodSandbox, RemovePodSandbox: nothing of the pod left", async () => {
    await cd.rpc("StopPodSandbox", { pod_sandbox_id: podId });
    expect((await cd.rpc("PodSandboxStatus", { pod_sandbox_id: podId })).status.state).toBe("SANDBOX_NOTREADY");
    await cd.rpc("RemovePodSandbox", { pod_sandbox_id: podId });
    expect((await cd.rpc("ListPodSandbox", {})).items).toEqual([]);
    expect((await cd.rpc("ListContainers", {})).containers).toEqual([]);

    const ids = [podId, appId];
    expect(buncState()).toEqual([]);
    expect(mountsNaming(ids)).toEqual([]);
    expect(cgroupsNamed(ids)).toEqual([]);
    expect(cd.ok(["task", "ls", "-q"]).trim()).toBe("");
    // No bundles, no shim sockets (kept in /run/containerd/s, named by sha256 of "<address>/<namespace>/<id>").
    const tasks = join(cd.dir, "state/io.containerd.runtime.v2.task", cd.namespace);
    expect(existsSync(tasks) ? readdirSync(tasks) : []).toEqual([]);
    const socket = (id: string) => join("/run/containerd/s", createHash("sha256").update(join(cd.address, cd.namespace, id)).digest("hex"));
    expect(ids.map(socket).filter(existsSync)).toEqual([]);
  });
});
