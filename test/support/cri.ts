// containerd with its CRI plugin, driven over gRPC as the kubelet drives it (runtime.v1),
// with a runtime handler "bunc": the io.containerd.runc.v2 shim with BinaryName = bunc.
// Pods use the host network, so no CNI plugin is needed.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { buildOciArchive, Containerd } from "./engines";

/** The RuntimeClass handler name (containerd's runtimes.<name>). */
export const HANDLER = "bunc";

/** Where Debian's catatonit is: a static binary, the pod's pause process (`catatonit -P`). */
export const CATATONIT = "/usr/bin/catatonit";

const CAP_SYS_RESOURCE = 24;

/** Whether this process has the capability in its effective set. */
function hasCapability(cap: number): boolean {
  const eff = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)$/m)?.[1];
  return !!eff && ((BigInt(`0x${eff}`) >> BigInt(cap)) & 1n) === 1n;
}

type Call = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void;

/** How the node is configured: kubeadm's defaults on a systemd host are both true. */
export interface CriNodeOptions {
  /** `SystemdCgroup = true`: the shim passes --systemd-cgroup, pods' parents are slices. */
  systemdCgroup?: boolean;
  /** containerd applies its default AppArmor profile (cri-containerd.apparmor.d) to containers. */
  apparmor?: boolean;
}

/** containerd with the CRI plugin, its namespace k8s.io and everything under a private directory. */
export class ContainerdCri extends Containerd {
  override readonly namespace = "k8s.io";
  readonly pauseImage = "localhost/bunc-pause:catatonit";
  /** Empty: no CNI network (pods use the host's). */
  readonly cniDir = join(this.dir, "cni");
  private runtimeClient?: grpc.Client;
  private imageClient?: grpc.Client;

  constructor(readonly node: CriNodeOptions = {}, runtime?: string) {
    super(runtime);
  }

  /**
   * The pods' cgroup parent, this run's own: a path for cgroupfs; for systemd the slice the
   * kubelet would give a BestEffort pod (kubepods-besteffort-pod<uid>.slice, a nested slice).
   */
  get podCgroupParent(): string {
    return this.node.systemdCgroup ? `kubepods-besteffort-pod${basename(this.dir).replace(/[^a-zA-Z0-9]/g, "")}.slice` : `/${basename(this.dir)}`;
  }

  override get cgroupParent(): string {
    return this.podCgroupParent;
  }

  protected override configLines(): string[] {
    const cri = `plugins."io.containerd.grpc.v1.cri"`;
    return [
      ...super.configLines().filter((l) => !l.startsWith("disabled_plugins")),
      `[${cri}]`,
      `  sandbox_image = "${this.pauseImage}"`,
      `  disable_apparmor = ${!this.node.apparmor}`,
      // The pause gets oom_score_adj -998, which needs CAP_SYS_RESOURCE (some test machines
      // lack it): then containerd clamps the scores to its own, as for rootless nodes.
      `  restrict_oom_score_adj = ${!hasCapability(CAP_SYS_RESOURCE)}`,
      `  stream_server_address = "127.0.0.1"`,
      `  stream_server_port = "0"`,
      `[${cri}.containerd]`,
      `  snapshotter = "overlayfs"`,
      `  default_runtime_name = "runc"`, // a node's default; pods pick bunc by their RuntimeClass
      `[${cri}.containerd.runtimes.runc]`,
      `  runtime_type = "io.containerd.runc.v2"`,
      `[${cri}.containerd.runtimes.${HANDLER}]`,
      `  runtime_type = "io.containerd.runc.v2"`,
      `[${cri}.containerd.runtimes.${HANDLER}.options]`,
      `  BinaryName = "${this.runtime}"`,
      `  SystemdCgroup = ${!!this.node.systemdCgroup}`,
      `  Root = "${this.buncRoot}"`,
      `[${cri}.cni]`,
      `  bin_dir = "${this.cniDir}"`,
      `  conf_dir = "${this.cniDir}"`,
    ];
  }

  override async start(): Promise<void> {
    mkdirSync(this.cniDir, { recursive: true });
    await super.start();
    const def = protoLoader.loadSync(join(import.meta.dir, "cri.proto"), { keepCase: true, longs: Number, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    const v1 = pkg.runtime.v1;
    this.runtimeClient = new v1.RuntimeService(`unix://${this.address}`, grpc.credentials.createInsecure());
    this.imageClient = new v1.ImageService(`unix://${this.address}`, grpc.credentials.createInsecure());
  }

  /** A RuntimeService call (fields as in cri.proto, snake_case). */
  rpc(method: string, req: object, timeoutMs = 60_000): Promise<any> {
    return call(this.runtimeClient, method, req, timeoutMs);
  }

  /** An ImageService call. */
  imageRpc(method: string, req: object, timeoutMs = 60_000): Promise<any> {
    return call(this.imageClient, method, req, timeoutMs);
  }

  /** Imports the Alpine image and a pause image (catatonit -P) into k8s.io: no pulls. */
  importImages(): void {
    this.importAlpine();
    const layer = join(this.dir, "pause-layer");
    mkdirSync(layer);
    copyFileSync(CATATONIT, join(layer, "catatonit"));
    const tgz = join(this.dir, "pause-layer.tar.gz");
    const t = Bun.spawnSync(["tar", "--owner=0", "--group=0", "--numeric-owner", "-C", layer, "-czf", tgz, "catatonit"]);
    if (t.exitCode !== 0) throw new Error(`tar: ${t.stderr.toString()}`);
    const archive = buildOciArchive(tgz, join(this.dir, "pause-oci"), this.pauseImage, { Entrypoint: ["/catatonit", "-P"] });
    this.ok(["images", "import", archive], { timeout: 120_000 });
  }

  override async stop(): Promise<void> {
    await this.stopPods();
    // the pod's slice (systemd driver): empty once its containers are gone
    if (this.node.systemdCgroup) Bun.spawnSync(["systemctl", "stop", this.podCgroupParent], { stdin: "ignore" });
  }

  private async stopPods(): Promise<void> {
    // The CRI way first (it also unmounts the pods' /dev/shm), then the ctr sweep of Containerd.stop().
    if (this.runtimeClient) {
      try {
        const { items } = await this.rpc("ListPodSandbox", {}, 10_000);
        for (const p of items) {
          await this.rpc("StopPodSandbox", { pod_sandbox_id: p.id }, 30_000).catch(() => {});
          await this.rpc("RemovePodSandbox", { pod_sandbox_id: p.id }, 30_000).catch(() => {});
        }
      } catch {}
      this.runtimeClient.close();
      this.imageClient?.close();
    }
    await super.stop();
  }
}

function call(client: grpc.Client | undefined, method: string, req: object, timeoutMs: number): Promise<any> {
  if (!client) throw new Error("CRI client not started");
  const fn = (client as unknown as Record<string, Call>)[method];
  if (!fn) throw new Error(`no CRI method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(new Error(`${method}: ${err.details || err.message}`)) : resolve(res));
  });
}
