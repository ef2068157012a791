// Real container engines driving bunc: podman (through conmon) and containerd (through
// its io.containerd.runc.v2 shim), each with every bit of its state under a private
// temporary directory that is unmounted and removed afterwards.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { removeCgroupTree } from "../../scripts/cgroup-dirs";
export { removeCgroupTree };
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { alpineTarball } from "../../scripts/alpine-tarball";
import { isRoot, mountsUnder, pidAlive, PROJECT, type Result } from "./harness";

/** bunc as the engines see it: the compiled binary (engines cannot run the sources). */
export const BUNC_BINARY = process.env.BUNC_BIN ?? join(PROJECT, "dist/bunc");

/** This host cannot raise the hard nofile limit to podman's default of 1048576. */
export const PODMAN_ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"];

const which = (bin: string) => Bun.which(bin, { PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/bin:/sbin:/bin` });

/**
 * Makes sure the binaries are there, installing the Debian packages when they are not
 * (as .ci/run does). Returns why the engine is unusable, or undefined when it is usable.
 */
export function ensureInstalled(packages: string[], binaries: string[]): string | undefined {
  if (binaries.every((b) => which(b))) return undefined;
  if (process.geteuid?.() !== 0) return `${binaries.join(", ")} missing and not root to install ${packages.join(" ")}`;
  if (!which("apt-get")) return `${binaries.join(", ")} missing and no apt-get to install them`;
  const p = Bun.spawnSync(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...packages], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, stdout: "ignore", stderr: "pipe", timeout: 300_000,
  });
  const missing = binaries.filter((b) => !which(b));
  if (missing.length) return `cannot install ${packages.join(" ")} (apt-get exited ${p.exitCode}: ${p.stderr.toString().trim().split("\n").pop()}); missing ${missing.join(", ")}`;
  return undefined;
}

/** Why an engine's tests cannot run here (not root, no bunc binary, the engine not installable), or undefined. */
export function engineSkipReason(packages: string[], binaries: string[]): string | undefined {
  if (!isRoot) return "not root";
  if (!existsSync(BUNC_BINARY)) return `${BUNC_BINARY} is not built (bun scripts/build.ts)`;
  return ensureInstalled(packages, binaries);
}

/** Runs a command with stdout and stderr in files: engines leave daemons holding pipes open. */
function runTo(dir: string, cmd: string[], opts: { env?: Record<string, string>; timeout?: number; stdin?: string } = {}): Result {
  const out = join(dir, `.out-${process.hrtime.bigint()}`), err = `${out}.err`;
  const p = Bun.spawnSync({
    cmd, stdout: Bun.file(out), stderr: Bun.file(err),
    stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 60_000,
  });
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  const r = { code: p.exitCode ?? 128 + 9, stdout: read(out), stderr: read(err) };
  rmSync(out, { force: true });
  rmSync(err, { force: true });
  return r;
}

function unmountAndRemove(dir: string): void {
  for (const m of mountsUnder(dir).reverse()) Bun.spawnSync(["umount", "-l", m]);
  rmSync(dir, { recursive: true, force: true });
}


/** Waits until a daemon started as `proc` answers (`ready`); throws with its log's last lines if it exits or `ms` pass first. */
async function answering(name: string, proc: ReturnType<typeof Bun.spawn>, log: string, ms: number, ready: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (ready()) return;
    if (proc.exitCode !== null || Date.now() > until) {
      const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-10).join("\n") : "";
      throw new Error(`${name} did not start (exit ${proc.exitCode}):\n${tail}`);
    }
    await Bun.sleep(50);
  }
}

/** Ends a daemon we started: SIGTERM, then SIGKILL if it is still there after `ms`. */
async function terminate(proc: ReturnType<typeof Bun.spawn>, ms: number): Promise<void> {
  proc.kill("SIGTERM");
  const until = Date.now() + ms;
  while (proc.exitCode === null && Date.now() < until) await Bun.sleep(20);
  if (proc.exitCode === null) proc.kill("SIGKILL");
  await proc.exited;
}

/** Processes whose command line contains `needle` (to find the engines' leftovers). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes(needle)) out.push(Number(e));
    } catch {}
  }
  return out;
}

function killAndWait(pids: number[], signal = 9, ms = 5000): void {
  for (const pid of pids) try { process.kill(pid, signal); } catch {}
  const until = Date.now() + ms;
  while (pids.some(pidAlive) && Date.now() < until) Bun.sleepSync(20);
}

// ---------------------------------------------------------------------------------
// podman

/**
 * podman with private storage (--root/--runroot/--tmpdir), cgroupfs, file events and a
 * private containers.conf. The containers.conf lists "bunc" in runtime_supports_json,
 * so podman (and conmon) call bunc with `--log-format=json --log <file>` as they call
 * runc and crun. bunc keeps its default --root (/run/bunc): podman 4.3 drops
 * --runtime-flag in the cleanup process that conmon starts when a container exits
 * (that `delete --force` would miss a private root) and passes no environment on.
 */
export class Podman {
  readonly dir = mkdtempSync(join(tmpdir(), "bunc-podman-"));
  readonly conf = join(this.dir, "containers.conf");
  readonly image = "localhost/alpine:3.20";
  /** A cgroup parent of this run's own (cgroupfs), removed by cleanup(). */
  readonly cgroupParent = `/${basename(this.dir)}`;

  /**
   * podman 4.3 writes a blob-info cache to /var/lib/containers/cache and makes
   * /run/containers/networks whatever the flags say: removed afterwards if we made them.
   */
  private readonly systemDirs = ["/var/lib/containers", "/run/containers"].filter((d) => !existsSync(d));

  constructor(readonly runtime = BUNC_BINARY) {
    for (const d of ["root", "runroot", "tmp", "networks"]) mkdirSync(join(this.dir, d), { recursive: true });
    writeFileSync(this.conf, [
      "[engine]",
      `runtime_supports_json = ["bunc", "runc", "crun"]`,
      `events_logger = "file"`,
      `events_logfile_path = "${join(this.dir, "events.log")}"`,
      `cgroup_manager = "cgroupfs"`,
      `tmp_dir = "${join(this.dir, "tmp")}"`,
      "[network]",
      `network_config_dir = "${join(this.dir, "networks")}"`,
      "",
    ].join("\n"));
  }

  /** The global flags of every podman call. */
  globals(): string[] {
    return [
      "--root", join(this.dir, "root"), "--runroot", join(this.dir, "runroot"), "--tmpdir", join(this.dir, "tmp"),
      "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
      "--runtime", this.runtime,
    ];
  }

  podman(args: string[], opts: { timeout?: number; stdin?: string } = {}): Result {
    return runTo(this.dir, ["podman", ...this.globals(), ...args], { ...opts, env: { CONTAINERS_CONF: this.conf } });
  }

  /** Like podman(), but throws with podman's stderr when it fails. */
  ok(args: string[], opts?: { timeout?: number }): string {
    const r = this.podman(args, opts);
    if (r.code !== 0) throw new Error(`podman ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** The command line of `podman` for a shell (script -c, tmux). */
  shellCommand(args: string[]): string {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    return [`CONTAINERS_CONF=${q(this.conf)}`, "podman", ...this.globals(), ...args].map((a, i) => (i === 0 ? a : q(a))).join(" ");
  }

  /** podman under a new pty (util-linux `script`); the exit status is podman's. */
  podmanInPty(args: string[], timeout = 60_000): Result {
    return runTo(this.dir, ["script", "-qec", this.shellCommand(args), "/dev/null"], { timeout });
  }

  /** `podman import` of the Alpine minirootfs: an image without network. */
  importAlpine(): void {
    this.ok(["import", alpineTarball(), this.image]);
  }

  /** Flags of `podman run` for this host. */
  runFlags(): string[] {
    return ["--network", "none", "--cgroup-parent", this.cgroupParent, ...PODMAN_ULIMITS];
  }

  /** Every container podman knows (full ids), to look for them in bunc's state afterwards. */
  containerIds(): string[] {
    return this.podman(["ps", "-aq", "--no-trunc"]).stdout.split("\n").filter(Boolean);
  }

  /**
   * Removes containers, images, mounts and the directory, whatever state the tests left,
   * and returns the ids of containers that bunc still had in `buncRoot` afterwards
   * (which it deletes too).
   */
  cleanup(knownIds: Iterable<string> = [], buncRoot = "/run/bunc"): string[] {
    const ids = new Set([...knownIds, ...this.containerIds()]);
    try {
      this.podman(["rm", "-af", "-t", "0"], { timeout: 60_000 });
      this.podman(["rmi", "-af"], { timeout: 60_000 });
    } catch {}
    // A conmon that outlived its container would keep files open.
    killAndWait(pidsWithCmdline(this.dir).filter((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim() === "conmon"));
    const left = existsSync(buncRoot) ? readdirSync(buncRoot).filter((id) => ids.has(id)) : [];
    for (const id of left) Bun.spawnSync([this.runtime, "--root", buncRoot, "delete", "--force", id]);
    removeCgroupTree(this.cgroupParent);
    unmountAndRemove(this.dir);
    for (const d of this.systemDirs) rmSync(d, { recursive: true, force: true });
    return left;
  }
}

// ---------------------------------------------------------------------------------
// containerd

/**
 * containerd started by the test, with --root, --state and --address under a private
 * directory and a minimal config (no CRI plugin). Containers use bunc through the runc
 * shim: `ctr run --runc-binary <bunc> --runc-root <dir>`.
 */
export class Containerd {
  readonly dir = mkdtempSync(join(tmpdir(), "bunc-containerd-"));
  readonly address = join(this.dir, "containerd.sock");
  readonly buncRoot = join(this.dir, "bunc-state");
  /** ctr's cgroups are /<namespace>/<id>: a namespace of this run's own. */
  readonly namespace = basename(this.dir);
  readonly image = "localhost/alpine:3.20";
  readonly log = join(this.dir, "containerd.log");
  private proc?: ReturnType<typeof Bun.spawn>;

  constructor(readonly runtime = BUNC_BINARY) {}

  /** The cgroup (in every hierarchy) under which this run's containers are, removed by stop(). */
  get cgroupParent(): string {
    return this.namespace;
  }

  /** The lines of containerd's config.toml: private addresses, no CRI plugin. */
  protected configLines(): string[] {
    return [
      "version = 2",
      `root = "${join(this.dir, "root")}"`,
      `state = "${join(this.dir, "state")}"`,
      `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
      "[grpc]", `  address = "${this.address}"`,
      "[ttrpc]", `  address = "${this.address}.ttrpc"`,
      "[debug]", `  address = ""`,
      "[metrics]", `  address = ""`,
    ];
  }

  async start(): Promise<void> {
    const config = join(this.dir, "config.toml");
    writeFileSync(config, [...this.configLines(), ""].join("\n"));
    this.proc = Bun.spawn({
      cmd: ["containerd", "--config", config, "--root", join(this.dir, "root"), "--state", join(this.dir, "state"), "--address", this.address],
      stdout: Bun.file(this.log), stderr: Bun.file(this.log), stdin: "ignore",
    });
    await answering("containerd", this.proc, this.log, 20_000, () => existsSync(this.address) && this.ctr(["version"], { timeout: 5000 }).code === 0);
  }

  ctr(args: string[], opts: { timeout?: number; stdin?: string } = {}): Result {
    return runTo(this.dir, ["ctr", "--address", this.address, "--namespace", this.namespace, ...args], opts);
  }

  ok(args: string[], opts?: { timeout?: number }): string {
    const r = this.ctr(args, opts);
    if (r.code !== 0) throw new Error(`ctr ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** `ctr run` flags that make the runc shim use bunc. */
  runtimeFlags(): string[] {
    return ["--runc-binary", this.runtime, "--runc-root", this.buncRoot];
  }

  /** Imports the Alpine minirootfs as an OCI image archive built here (no network). */
  importAlpine(): void {
    const archive = buildOciArchive(alpineTarball(), join(this.dir, "alpine-oci"), this.image);
    this.ok(["images", "import", archive], { timeout: 120_000 });
  }

  /** The shim's JSON log of the runtime calls of a container (bunc's --log file). */
  runtimeLog(id: string): string {
    const f = join(this.dir, "state/io.containerd.runtime.v2.task", this.namespace, id, "log.json");
    return existsSync(f) ? readFileSync(f, "utf8") : "";
  }

  /** The shims' sockets: /run/containerd/s/<sha256 of "<address>/<namespace>/<id>">. */
  private shimSockets(): string[] {
    const tasks = join(this.dir, "state/io.containerd.runtime.v2.task", this.namespace);
    const ids = existsSync(tasks) ? readdirSync(tasks) : [];
    return ids.map((id) => join("/run/containerd/s", createHash("sha256").update(join(this.address, this.namespace, id)).digest("hex")));
  }

  /** Kills tasks and shims, stops containerd by its PID, unmounts and removes everything. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      try {
        for (const line of this.ctr(["task", "ls", "-q"], { timeout: 10_000 }).stdout.split("\n").filter(Boolean)) {
          this.ctr(["task", "kill", "-s", "SIGKILL", line], { timeout: 10_000 });
          this.ctr(["task", "delete", "-f", line], { timeout: 20_000 });
        }
        for (const line of this.ctr(["containers", "ls", "-q"], { timeout: 10_000 }).stdout.split("\n").filter(Boolean)) {
          this.ctr(["containers", "delete", line], { timeout: 10_000 });
        }
      } catch {}
      await terminate(this.proc, 10_000);
    }
    // Shims outlive containerd by design: end the ones started for this address. A killed
    // shim leaves its socket, which containerd 1.6 keeps outside --state, in /run/containerd/s.
    const sockets = this.shimSockets();
    killAndWait(pidsWithCmdline(this.address));
    for (const s of sockets) rmSync(s, { force: true });
    try {
      const root = join(this.buncRoot, this.namespace); // the shim's --root is <runc-root>/<namespace>
      for (const id of readdirSync(root)) Bun.spawnSync([this.runtime, "--root", root, "delete", "--force", id]);
    } catch {}
    removeCgroupTree(this.cgroupParent);
    unmountAndRemove(this.dir);
  }
}

/**
 * An OCI image layout archive (oci-layout, index.json, blobs/sha256/...) whose only
 * layer is the gzipped rootfs tarball as it is; `name` goes into the index annotations
 * containerd reads on import, `imageConfig` is the image's run config (Entrypoint, Cmd, Env).
 */
export function buildOciArchive(
  tarball: string, dir: string, name: string,
  imageConfig: Record<string, unknown> = { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
): string {
  const blobs = join(dir, "blobs/sha256");
  mkdirSync(blobs, { recursive: true });
  const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
  const put = (data: Uint8Array | string) => {
    const h = sha(data);
    writeFileSync(join(blobs, h), data);
    return { digest: `sha256:${h}`, size: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength };
  };
  const gz = readFileSync(tarball);
  const layer = put(gz);
  const diffId = `sha256:${sha(Bun.gunzipSync(gz))}`;
  const config = put(JSON.stringify({
    architecture: process.arch === "arm64" ? "arm64" : "amd64", os: "linux",
    config: imageConfig,
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created_by: `bunc test: ${basename(tarball)}` }],
  }));
  const manifest = put(JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  }));
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest,
      annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.split(":").pop() },
    }],
  }));
  const archive = `${dir}.tar`;
  const t = Bun.spawnSync(["tar", "-C", dir, "-cf", archive, "oci-layout", "index.json", "blobs"]);
  if (t.exitCode !== 0) throw new Error(`tar: ${t.stderr.toString()}`);
  return archive;
}

// ---------------------------------------------------------------------------------
// docker

/**
 * dockerd (Debian's docker.io) started by the test with bunc as a runtime of its own
 * (`--add-runtime bunc=<binary>`): its data root, exec root, pid file, socket and config
 * file under a private directory, no bridge and no iptables. dockerd starts its own
 * containerd (under the exec root), which runs bunc through the runc shim, as it runs runc.
 */
export class Docker {
  readonly dir = mkdtempSync(join(tmpdir(), "bunc-docker-"));
  readonly socket = join(this.dir, "docker.sock");
  readonly execRoot = join(this.dir, "exec");
  readonly log = join(this.dir, "dockerd.log");
  readonly image = "localhost/alpine:3.20";
  /** The containers' cgroup parent (in every hierarchy), removed by stop(). */
  readonly cgroupParent = `/${basename(this.dir)}`;
  /** What dockerd makes outside its roots whatever the flags say: removed afterwards if we made them. */
  private readonly systemPaths = ["/etc/docker/key.json", "/run/docker"].filter((d) => !existsSync(d));
  private proc?: ReturnType<typeof Bun.spawn>;

  constructor(readonly runtime = BUNC_BINARY) {}

  async start(): Promise<void> {
    const config = join(this.dir, "daemon.json");
    writeFileSync(config, "{}\n"); // not the host's /etc/docker/daemon.json
    this.proc = Bun.spawn({
      cmd: ["dockerd", "--config-file", config, "--data-root", join(this.dir, "data"), "--exec-root", this.execRoot,
        "--pidfile", join(this.dir, "dockerd.pid"), "-H", `unix://${this.socket}`, "--bridge=none", "--iptables=false",
        "--ip6tables=false", "--ip-masq=false", "--storage-driver", "overlay2", "--cgroup-parent", this.cgroupParent,
        "--add-runtime", `bunc=${this.runtime}`],
      stdout: Bun.file(this.log), stderr: Bun.file(this.log), stdin: "ignore",
    });
    await answering("dockerd", this.proc, this.log, 60_000, () => existsSync(this.socket) && this.docker(["version"], { timeout: 10_000 }).code === 0);
  }

  docker(args: string[], opts: { timeout?: number; stdin?: string } = {}): Result {
    return runTo(this.dir, ["docker", "-H", `unix://${this.socket}`, ...args], opts);
  }

  ok(args: string[], opts?: { timeout?: number; stdin?: string }): string {
    const r = this.docker(args, opts);
    if (r.code !== 0) throw new Error(`docker ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  /** `docker import` of the Alpine minirootfs: an image without network. */
  importAlpine(): void {
    this.ok(["import", alpineTarball(), this.image], { timeout: 120_000 });
  }

  /** bunc's --root as the runc shim passes it: dockerd 20.10 gives every runtime <exec root>/runtime-runc, then the namespace. */
  get buncRoot(): string {
    return join(this.execRoot, "runtime-runc", "moby");
  }

  /** Removes every container, stops dockerd by its PID (and its containerd and shims), unmounts and removes everything. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      try {
        const ids = this.docker(["ps", "-aq"], { timeout: 10_000 }).stdout.split("\n").filter(Boolean);
        if (ids.length) this.docker(["rm", "-f", ...ids], { timeout: 60_000 });
      } catch {}
      await terminate(this.proc, 20_000);
    }
    killAndWait(pidsWithCmdline(this.dir)); // its containerd and shims, if any outlived it
    try {
      for (const id of readdirSync(this.buncRoot)) Bun.spawnSync([this.runtime, "--root", this.buncRoot, "delete", "--force", id]);
    } catch {}
    removeCgroupTree(this.cgroupParent);
    unmountAndRemove(this.dir);
    for (const p of this.systemPaths) rmSync(p, { recursive: true, force: true });
  }
}
