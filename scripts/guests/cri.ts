// One CRI pod lifecycle through containerd inside a guest (issues 21, 22), bunc as the RuntimeClass
// handler, containerd configured as kubeadm configures it on a systemd host (SystemdCgroup = true,
// its default AppArmor profile on): the same ContainerdCri driver as test/integration/cri.test.ts (containerd started
// with everything under a private directory, catatonit -P as the pause image and the Alpine
// minirootfs as the app image, both OCI archives imported offline, host network: no CNI).
// boot.ts bundles this file into the share as cri.js; the guest runs it with the bunc binary
// as the plain bun CLI:
//
//   BUN_BE_BUN=1 BUNC_BIN=/usr/local/bin/bunc BUNC_ROOTFS_TARBALL=... bunc /share/cri.js
//
// Prints one line per step, exits 1 at the first step that fails.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerdCri, HANDLER } from "../../test/support/cri";

// containerd, its shims and bunc inherit the environment: bunc must not start as the bun CLI too.
// Bun 1.4.5 gives a child the environment it started with, whatever process.env says now, when
// the spawn passes no env: pass one without BUN_BE_BUN to every spawn.
const withoutBeBun = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "BUN_BE_BUN"));
for (const k of ["spawn", "spawnSync"] as const) {
  const f = Bun[k] as (...a: any[]) => any;
  (Bun as any)[k] = (a: any, b?: any) => (Array.isArray(a) ? f(a, { env: withoutBeBun(), ...b }) : f({ env: withoutBeBun(), ...a }));
}
const cd = new ContainerdCri({ systemdCgroup: true, apparmor: true });
/** containerd's default profile (runtime/default), loaded by containerd itself with apparmor_parser. */
const PROFILE = "cri-containerd.apparmor.d (enforce)";
const attr = (pid: number) => readFileSync(`/proc/${pid}/attr/current`, "utf8").replace(/\0/g, "").trim();
const cgroupOf = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, "utf8").match(/^0::(.*)$/m)?.[1] ?? "?";
/** Where systemd puts a scope of the pod's slice: the nested slices spelled out, as runc's driver does. */
const scopePath = (id: string) => {
  const slice = cd.podCgroupParent;
  const parts = slice.replace(/\.slice$/, "").split("-");
  const chain = parts.map((_, i) => `${parts.slice(0, i + 1).join("-")}.slice`);
  return `/${chain.join("/")}/cri-containerd-${id}.scope`;
};
const systemctl = (...args: string[]) => Bun.spawnSync(["systemctl", ...args], { stdin: "ignore" }).stdout.toString().trim();
const uid = Math.random().toString(36).slice(2, 10);
const name = `pod-${uid}`;
const logDir = join(cd.dir, "pods", `default_${name}_${uid}`);
const sandboxConfig = {
  metadata: { name, uid, namespace: "default", attempt: 0 },
  log_directory: logDir,
  linux: {
    cgroup_parent: cd.podCgroupParent,
    security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } },
  },
};
const buncRoot = () => join(cd.buncRoot, cd.namespace);
const buncState = () => (existsSync(buncRoot()) ? readdirSync(buncRoot()).sort() : []);
const bunc = (args: string[]) => Bun.spawnSync([cd.runtime, "--root", buncRoot(), ...args], { stdin: "ignore" });
const t0 = performance.now();
const step = (what: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);
function expect(cond: unknown, what: string): void {
  if (!cond) throw new Error(`expected: ${what}`);
}

let failed = false;
try {
  await cd.start();
  step(`containerd ${cd.ok(["version"]).match(/Version:\s*(\S+)/)?.[1] ?? "?"} started with the CRI plugin`);
  cd.importImages();
  step("images imported (alpine, catatonit pause)");

  const podId = (await cd.rpc("RunPodSandbox", { config: sandboxConfig, runtime_handler: HANDLER })).pod_sandbox_id;
  const ps = (await cd.rpc("PodSandboxStatus", { pod_sandbox_id: podId })).status;
  expect(ps.state === "SANDBOX_READY", `sandbox ready, got ${ps.state}`);
  const pause = JSON.parse(bunc(["state", podId]).stdout.toString());
  expect(pause.status === "running", `bunc state of the sandbox running, got ${JSON.stringify(pause)}`);
  expect(readFileSync(`/proc/${pause.pid}/cmdline`, "utf8") === "/catatonit\0-P\0", "the pause is catatonit -P");
  expect(cgroupOf(pause.pid) === scopePath(podId), `the pause in its scope ${scopePath(podId)}, got ${cgroupOf(pause.pid)}`);
  expect(systemctl("is-active", `cri-containerd-${podId}.scope`) === "active", "the pause's scope is active");
  step(`RunPodSandbox: ready, bunc runs the pause (pid ${pause.pid}) in ${cgroupOf(pause.pid)}, ${attr(pause.pid)}`);

  const appId = (await cd.rpc("CreateContainer", {
    pod_sandbox_id: podId,
    sandbox_config: sandboxConfig,
    config: {
      metadata: { name: "app", attempt: 0 },
      image: { image: cd.image },
      command: ["sh", "-c", "echo hello from bunc; trap 'exit 0' TERM; sleep 1000 & wait"],
      envs: [{ key: "GREETING", value: "hi" }],
      log_path: "app/0.log",
      linux: {
        security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" }, seccomp: { profile_type: "RuntimeDefault" } },
      },
    },
  })).container_id;
  await cd.rpc("StartContainer", { container_id: appId });
  const s = (await cd.rpc("ContainerStatus", { container_id: appId })).status;
  expect(s.state === "CONTAINER_RUNNING", `app running, got ${s.state}`);
  expect(JSON.stringify(buncState()) === JSON.stringify([podId, appId].sort()), `bunc has the pod and the app, got ${buncState()}`);
  let log = "";
  for (let i = 0; i < 400 && !log.includes("hello from bunc"); i++) {
    if (existsSync(s.log_path)) log = readFileSync(s.log_path, "utf8");
    if (!log.includes("hello from bunc")) await Bun.sleep(50);
  }
  expect(/ stdout F hello from bunc\n/.test(log), `the CRI log has the app's line, got ${JSON.stringify(log)}`);
  step("CreateContainer, StartContainer: running, its output in the CRI log");

  // where the app is: its systemd scope in the pod's slice (test/support/cri.proto carries no resources)
  const app = JSON.parse(bunc(["state", appId]).stdout.toString());
  const spec = JSON.parse(readFileSync(join(cd.dir, "state/io.containerd.runtime.v2.task", cd.namespace, appId, "config.json"), "utf8"));
  console.log(`  app cgroup ${cgroupOf(app.pid)}; the spec's cgroupsPath ${spec.linux?.cgroupsPath}, apparmorProfile ${spec.process?.apparmorProfile}, namespaces ${spec.linux?.namespaces?.map((n: { type: string }) => n.type).join(",")}`);
  expect(cgroupOf(app.pid) === scopePath(appId), `the app in its scope ${scopePath(appId)}, got ${cgroupOf(app.pid)}`);
  expect(systemctl("show", "-p", "Delegate", "--value", `cri-containerd-${appId}.scope`) === "yes", "the app's scope is delegated");
  expect(attr(app.pid) === PROFILE, `the app confined by ${PROFILE}, got ${attr(app.pid)}`);
  step(`the app in ${cgroupOf(app.pid)} (a systemd scope), ${attr(app.pid)}`);
  const e = await cd.rpc("ExecSync", { container_id: appId, cmd: ["sh", "-c", "echo $GREETING; grep ^Seccomp: /proc/self/status; tr -d '\\0' </proc/self/attr/current; exit 3"], timeout: 60 });
  expect(e.stdout.toString() === `hi\nSeccomp:\t2\n${PROFILE}\n`, `ExecSync output, got ${JSON.stringify(e.stdout.toString())} (stderr ${JSON.stringify(e.stderr.toString())})`);
  expect(e.exit_code === 3, `ExecSync exit code 3, got ${e.exit_code}`);
  step("ExecSync: env, seccomp filter, the container's profile, exit code");

  await cd.rpc("StopContainer", { container_id: appId, timeout: 30 });
  const stopped = (await cd.rpc("ContainerStatus", { container_id: appId })).status;
  expect(stopped.state === "CONTAINER_EXITED" && stopped.exit_code === 0, `exited 0 after SIGTERM, got ${stopped.state} ${stopped.exit_code}`);
  await cd.rpc("RemoveContainer", { container_id: appId });
  step("StopContainer (SIGTERM, exit 0), RemoveContainer");

  await cd.rpc("StopPodSandbox", { pod_sandbox_id: podId });
  await cd.rpc("RemovePodSandbox", { pod_sandbox_id: podId });
  expect((await cd.rpc("ListPodSandbox", {})).items.length === 0, "no pods left");
  expect(buncState().length === 0, `bunc's state empty, got ${buncState()}`);
  for (const id of [podId, appId]) expect(systemctl("is-active", `cri-containerd-${id}.scope`) !== "active", `the scope of ${id} is gone`);
  step("StopPodSandbox, RemovePodSandbox: nothing left in bunc's state");
} catch (err) {
  failed = true;
  console.log(`FAIL: ${(err as Error).message}`);
  if (existsSync(cd.log)) console.log(`--- containerd log (tail) ---\n${readFileSync(cd.log, "utf8").split("\n").slice(-30).join("\n")}`);
} finally {
  await cd.stop().catch((e) => console.log(`stop: ${e}`));
}
process.exit(failed ? 1 : 0);
