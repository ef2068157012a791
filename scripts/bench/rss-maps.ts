#!/usr/bin/env bun
// What each command's peak RSS is made of: the process's mappings at its exit_group, by kind.
//
//   bun scripts/bench/rss-maps.ts [--bunc PATH]      (root; needs strace)
//
// Peak RSS (figure (7) of scripts/bench.ts, GNU time's %M) is one number; this splits it. Each
// command runs under `strace -e inject=exit_group:delay_enter=...`, which holds the process at
// its exit_group (its memory all still mapped, every page it touched counted) while
// /proc/PID/smaps is read. Both binaries are first put in the bench's "read" page-cache state
// (page-cache.ts), as (7) measures them; `bun -e 0` is the reference the target is set against.
// The container, its bundle and the scratch directory are removed at the end, even on failure.
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { alpineTarball } from "../alpine-tarball";
import { snapshotBinary } from "./page-cache";
import { RSS_KINDS, rssByKind, type RssKind } from "./proc";

const argv = process.argv.slice(2);
const at = argv.indexOf("--bunc");
const BUNC_SRC = resolve(at >= 0 ? argv[at + 1]! : join(import.meta.dir, "../../dist/bunc"));
if (process.getuid?.() !== 0) throw new Error("rss-maps: run as root (it creates a container)");
if (!Bun.which("strace")) throw new Error("rss-maps: needs strace (apt-get install strace)");
if (!existsSync(BUNC_SRC)) throw new Error(`rss-maps: no bunc binary at ${BUNC_SRC} (bun run build)`);

/** exit_group's number: the state /proc/PID/syscall shows while strace holds the process there. */
const EXIT_GROUP = process.arch === "arm64" ? 94 : 231;

/** The command's mappings (smaps text) at its exit_group, and its exit status. */
async function atExit(cmd: string[]): Promise<{ smaps: string; hwm: number; code: number }> {
  const p = Bun.spawn({ cmd: ["strace", "-o", "/dev/null", "-e", "trace=exit_group", "-e", "inject=exit_group:delay_enter=3000000", ...cmd], stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  let smaps = "", hwm = 0;
  const deadline = performance.now() + 20_000;
  while (!smaps && performance.now() < deadline) {
    // The command is the child strace traces (without -f, no process of its own): a helper it
    // starts with CLONE_PARENT is strace's child too, and ends with an exit_group of its own.
    for (const child of readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, "utf8").trim().split(" ").filter(Boolean)) {
      try {
        // The command itself, not strace's fork of itself before it executes the command (also
        // traced, and read here in a race now and then): its executable, held at exit_group.
        if (readlinkSync(`/proc/${child}/exe`) !== cmd[0]) continue;
        const status = readFileSync(`/proc/${child}/status`, "utf8");
        if (/^TracerPid:\s+(\d+)$/m.exec(status)?.[1] !== String(p.pid)) continue;
        if (!readFileSync(`/proc/${child}/syscall`, "utf8").startsWith(`${EXIT_GROUP} `)) continue;
        smaps = readFileSync(`/proc/${child}/smaps`, "utf8");
        hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        break;
      } catch {} // gone meanwhile
    }
    if (!smaps) await Bun.sleep(2);
  }
  const code = await p.exited;
  if (!smaps) throw new Error(`rss-maps: ${cmd.join(" ")} never reached exit_group`);
  return { smaps, hwm, code };
}

const scratch = mkdtempSync("/tmp/bunc-rss-maps-");
const bunc = snapshotBinary(BUNC_SRC, join(scratch, "bunc"), "read", ["--version"]);
const bun = snapshotBinary(process.execPath, join(scratch, "bun"), "read", ["-e", "0"]);
const root = join(scratch, "root");
const id = "rss-maps";
try {
  const bundle = join(scratch, "bundle");
  if (Bun.spawnSync({ cmd: [bunc, "bundle", alpineTarball(), bundle], stdout: "ignore" }).exitCode !== 0) throw new Error("rss-maps: bunc bundle failed");
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  config.process.terminal = false;
  config.process.args = ["sleep", "60"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
  const trueBundle = join(scratch, "bundle-true");
  Bun.spawnSync({ cmd: ["mkdir", "-p", trueBundle] });
  writeFileSync(join(trueBundle, "config.json"), JSON.stringify({ ...config, root: { path: join(bundle, "rootfs") }, process: { ...config.process, args: ["/bin/true"] } }));

  const commands: [string, string[]][] = [
    ["`bun -e 0`", [bun, "-e", "0"]],
    ["--version", [bunc, "--version"]],
    ["create", [bunc, "--root", root, "create", "-b", bundle, id]],
    ["start", [bunc, "--root", root, "start", id]],
    ["state", [bunc, "--root", root, "state", id]],
    ["exec", [bunc, "--root", root, "exec", id, "/bin/true"]],
    ["delete", [bunc, "--root", root, "delete", "--force", id]],
    ["run", [bunc, "--root", root, "run", "-b", trueBundle, `${id}-run`]],
  ];
  const columns: { name: string; kinds: Record<RssKind, number>; hwm: number }[] = [];
  for (const [name, cmd] of commands) {
    const r = await atExit(cmd);
    if (r.code !== 0) throw new Error(`rss-maps: ${cmd.slice(1).join(" ")} exited ${r.code}`);
    columns.push({ name, kinds: rssByKind(r.smaps, cmd[0]!), hwm: r.hwm });
  }
  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const lines = [`| MiB at exit_group | ${columns.map((c) => c.name).join(" | ")} |`, `|---|${columns.map(() => "---:").join("|")}|`];
  for (const k of RSS_KINDS) lines.push(`| ${k} | ${columns.map((c) => mib(c.kinds[k])).join(" | ")} |`);
  lines.push(`| total | ${columns.map((c) => mib(Object.values(c.kinds).reduce((a, b) => a + b, 0))).join(" | ")} |`);
  lines.push(`| peak (VmHWM) | ${columns.map((c) => mib(c.hwm)).join(" | ")} |`);
  console.log(lines.join("\n"));
} finally {
  for (const c of [id, `${id}-run`]) Bun.spawnSync({ cmd: [bunc, "--root", root, "delete", "--force", c], stdout: "ignore", stderr: "ignore" });
  rmSync(scratch, { recursive: true, force: true });
}
