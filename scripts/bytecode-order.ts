#!/usr/bin/env bun
// Records scripts/bunc.order, the profile `scripts/build.ts` lays the binary's bytecode out by
// (`bun build --bytecode-order`): which functions, strings and modules each command read out of
// the embedded bytecode, so that what a command uses sits together at the front of the payload
// instead of spread over all of it. Each page of the payload a command touches is part of its
// peak RSS: `state` touched 1.7 MiB of it before, 0.7 after (README, Performance).
//
//   bun scripts/bytecode-order.ts      (root: it runs a container on the Alpine minirootfs)
//
// Run it again after larger changes: functions are matched by a hash of their syntax, so a
// profile from an older build still applies to what did not change (the rest is laid out as
// without a profile); test/integration/bytecode-order.test.ts fails once too little matches.
// The container, its bundle and the scratch directory are removed at the end, even on failure.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { alpineTarball } from "./alpine-tarball";

const ROOT = resolve(import.meta.dir, "..");
const BUNC = join(ROOT, "dist/bunc");
export const ORDER_FILE = join(ROOT, "scripts/bunc.order");

/**
 * One profile from several, as `--bytecode-order=a,b,...` merges them (most important first):
 * per kind of line, the first file's entries in its order, then what each next one adds.
 * A build from the merged file is byte-identical to one from the files it was merged from.
 */
export function mergeOrders(profiles: string[]): string {
  const kinds = new Map<string, string[]>();
  for (const [i, text] of profiles.entries()) {
    const [version, ...lines] = text.split("\n");
    if (version !== "v2") throw new Error(`bytecode-order: profile ${i} is "${version}", not the v2 format this script merges`);
    for (const line of lines) {
      if (!line) continue;
      const list = kinds.get(line[0]!) ?? kinds.set(line[0]!, []).get(line[0]!)!;
      list.push(line);
    }
  }
  const out = ["v2"];
  for (const lines of kinds.values()) out.push(...new Set(lines));
  return out.join("\n") + "\n";
}

/**
 * Runs a command in the scratch directory's terms: its stderr goes to a file there, not a pipe
 * (a created container holds create's stderr open), a one-shot's rootfs is cached there.
 */
function run(cmd: string[], profile: string | undefined, scratch: string, ok = true): void {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", BUNC_CACHE_DIR: join(scratch, "cache") };
  if (profile) env.BUN_BYTECODE_ORDER_OUT = profile;
  const errors = join(scratch, "stderr");
  const fd = openSync(errors, "w");
  try {
    const r = Bun.spawnSync({ cmd, env, stdin: "ignore", stdout: "ignore", stderr: fd });
    if (ok && r.exitCode !== 0) throw new Error(`bytecode-order: ${cmd.join(" ")} exited ${r.exitCode}: ${readFileSync(errors, "utf8").trim()}`);
  } finally {
    closeSync(fd);
  }
}

function status(root: string, id: string): string | undefined {
  const r = Bun.spawnSync({ cmd: [BUNC, "--root", root, "state", id], stdin: "ignore", stderr: "ignore" });
  return r.exitCode === 0 ? JSON.parse(r.stdout.toString()).status : undefined;
}

function record(): void {
  if (process.getuid?.() !== 0) throw new Error("bytecode-order: run as root (it runs a container)");
  if (!existsSync(BUNC)) throw new Error(`bytecode-order: no binary at ${BUNC} (bun run build)`);
  const scratch = mkdtempSync("/tmp/bunc-bytecode-order-");
  const root = join(scratch, "root"), id = "order";
  const profile = (name: string) => join(scratch, `${name}.order`);
  try {
    const bundle = join(scratch, "bundle");
    run([BUNC, "bundle", alpineTarball(), bundle], profile("bundle"), scratch);
    const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    config.process.terminal = false;
    config.process.args = ["sleep", "60"];
    writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
    const oneShot = join(scratch, "bundle-true");
    mkdirSync(oneShot);
    writeFileSync(join(oneShot, "config.json"), JSON.stringify({ ...config, root: { path: join(bundle, "rootfs") }, process: { ...config.process, args: ["/bin/true"] } }));

    // A lifecycle as an engine drives it; the profiles are merged in the order of `names`:
    // the commands called most often first, each adding what the ones before did not use.
    run([BUNC, "--root", root, "create", "-b", bundle, id], profile("create"), scratch);
    run([BUNC, "--root", root, "start", id], profile("start"), scratch);
    run([BUNC, "--root", root, "state", id], profile("state"), scratch);
    run([BUNC, "--root", root, "exec", id, "/bin/true"], profile("exec"), scratch);
    run([BUNC, "--root", root, "list"], profile("list"), scratch);
    run([BUNC, "--root", root, "ps", id], profile("ps"), scratch);
    run([BUNC, "--root", root, "pause", id], profile("pause"), scratch);
    run([BUNC, "--root", root, "resume", id], profile("resume"), scratch);
    run([BUNC, "--root", root, "kill", id, "KILL"], profile("kill"), scratch);
    for (let i = 0; i < 500 && status(root, id) !== "stopped"; i++) Bun.sleepSync(10);
    run([BUNC, "--root", root, "delete", id], profile("delete"), scratch);
    run([BUNC, "--root", root, "run", "-b", oneShot, `${id}-run`], profile("run"), scratch);
    // `delete --force` of a running container (containerd's cleanup, `podman rm -f`) kills it first.
    run([BUNC, "--root", root, "create", "-b", bundle, `${id}-force`], undefined, scratch);
    run([BUNC, "--root", root, "delete", "--force", `${id}-force`], profile("delete-force"), scratch);
    // On a hybrid host (this one), the same lifecycle on cgroup2 alone, as most hosts are: a
    // private mount namespace with cgroup2 mounted over /sys/fs/cgroup (the bench does as much).
    const extra: string[] = [];
    if (existsSync("/sys/fs/cgroup/unified/cgroup.controllers") && Bun.which("unshare")) {
      const v2 = `${id}-v2`, q = (a: string[]) => a.map((x) => `'${x}'`).join(" ");
      const lifecycle = [
        `BUN_BYTECODE_ORDER_OUT=${profile("create-v2")} ${q([BUNC, "--root", root, "create", "-b", bundle, v2])}`,
        `BUN_BYTECODE_ORDER_OUT=${profile("start-v2")} ${q([BUNC, "--root", root, "start", v2])}`,
        `BUN_BYTECODE_ORDER_OUT=${profile("delete-v2")} ${q([BUNC, "--root", root, "delete", "--force", v2])}`,
      ].join(" && ");
      // Removed in the namespace whose cgroup paths its state names, whatever failed.
      const cleanup = `${q([BUNC, "--root", root, "delete", "--force", v2])} >/dev/null 2>&1`;
      run(["unshare", "-m", "--propagation", "private", "sh", "-c", `umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && { ${lifecycle}; }; rc=$?; ${cleanup}; exit $rc`], undefined, scratch);
      extra.push("create-v2", "start-v2", "delete-v2");
    }
    run([BUNC, "--version"], profile("version"), scratch);
    run([BUNC, "spec", "--bundle", scratch], profile("spec"), scratch);
    // A dev script's one-shot run of a tarball, the second time (its unpacked tree cached).
    const oneShotRun = [BUNC, "--root", root, "run", "--rootfs", alpineTarball(), "--", "/bin/true"];
    run(oneShotRun, undefined, scratch);
    run(oneShotRun, profile("run-rootfs"), scratch);
    const names = ["state", "start", "delete", "kill", "create", "exec", "run", ...extra, "delete-force", "version", "spec", "list", "ps", "pause", "resume", "run-rootfs", "bundle"];
    writeFileSync(ORDER_FILE, mergeOrders(names.map((n) => readFileSync(profile(n), "utf8"))));
    console.log(`bytecode-order: wrote ${ORDER_FILE} from ${names.join(", ")}`);
  } finally {
    for (const c of [id, `${id}-run`, `${id}-force`]) run([BUNC, "--root", root, "delete", "--force", c], undefined, scratch, false);
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) record();
