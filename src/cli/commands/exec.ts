import { defineCommand } from "../fast-args";
import { cli } from "../context";
import { preserveFds } from "../args";
import { execInContainer } from "../../runtime/exec";
import { loadContainer } from "../../runtime/state";
import { BuncError } from "../../sys/errors";
import type { Process } from "../../spec/schema";
import { preloadEmbedded } from "../../sys/embedded";
// node:fs when a call needs it: loading it costs a command ~0.9 ms and ~3.5 MiB (sys/files.ts).
const nodeFs = () => require("node:fs") as typeof import("node:fs");

const args = {
  id: { type: "positional", description: "container id", required: true },
  tty: { type: "boolean", alias: "t", description: "allocate a pseudo-terminal" },
  "console-socket": { type: "string", description: "unix socket that receives the pty master" },
  "pidfd-socket": { type: "string", description: "unix socket that receives a pidfd of the process (SCM_RIGHTS)" },
  detach: { type: "boolean", alias: "d", description: "do not wait for the process" },
  "pid-file": { type: "string", description: "write the process's PID to this file" },
  process: { type: "string", alias: "p", description: "path to a process.json (OCI process)" },
  env: { type: "string", alias: "e", description: "KEY=VALUE (repeatable)" },
  cwd: { type: "string", description: "working directory in the container" },
  user: { type: "string", alias: "u", description: "UID[:GID]" },
  "additional-gids": { type: "string", alias: "g", description: "additional group id (repeatable)" },
  cap: { type: "string", alias: "c", description: "add a capability (repeatable)" },
  "no-new-privs": { type: "boolean", description: "set no_new_privs" },
  apparmor: { type: "string", description: "the AppArmor profile of the process (default: the container's)" },
  "process-label": { type: "string", description: "the SELinux label of the process (default: the container's)" },
  "ignore-paused": { type: "boolean", description: "allow exec in a paused container" },
  cgroup: { type: "string", description: "run in an existing sub-cgroup: [controller:]path (repeatable)" },
  "preserve-fds": { type: "string", description: "pass N extra fds", default: "0" },
} as const;

/** Flags that take a value, by every spelling, to split argv at the container id. */
const VALUED = new Set(["--console-socket", "--pidfd-socket", "--cgroup", "--pid-file", "--process", "-p", "--env", "-e", "--cwd", "--user", "-u", "--additional-gids", "-g", "--cap", "-c", "--preserve-fds", "--apparmor", "--process-label"]);

/** bunc's own flags end at the container id; everything after it (past an optional "--") is the command. */
export function splitExecArgv(raw: string[]): { own: string[]; id?: string; command: string[] } {
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === "--") return { own: raw.slice(0, i), id: raw[i + 1], command: raw.slice(i + 2) };
    if (VALUED.has(a)) { i++; continue; }
    if (!a.startsWith("-")) {
      const rest = raw.slice(i + 1);
      return { own: raw.slice(0, i), id: a, command: rest[0] === "--" ? rest.slice(1) : rest };
    }
  }
  return { own: raw, command: [] };
}

function repeated(own: string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const a = own[i]!;
    if (names.includes(a) && i + 1 < own.length) out.push(own[++i]!);
    else for (const n of names) if (a.startsWith(n + "=")) out.push(a.slice(n.length + 1));
  }
  return out;
}

export default defineCommand({
  meta: { name: "exec", description: "run a new process in a running container", usage: ["[options] <id> [--] <cmd> [args...]", "[options] -p process.json <id>"], splitArgv: splitExecArgv } as any,
  args,
  async run({ args: a, data }) {
    try {
      await preloadEmbedded(); // the native init's and nsexec's bytes without node:fs (sys/embedded.ts)
      await execCommand(a, data as ReturnType<typeof splitExecArgv>);
    } catch (e: any) {
      // runc: a failure of exec itself (not of the process) is exit status 255.
      throw new BuncError(e?.message ?? String(e), 255);
    }
  },
});

async function execCommand(a: any, data: ReturnType<typeof splitExecArgv>): Promise<void> {
    const { own, command } = data;
    const c = loadContainer(cli.globals.root, a.id);
    let p: Process;
    if (a.process) {
      let json: unknown;
      try {
        json = JSON.parse(nodeFs().readFileSync(a.process, "utf8"));
      } catch (e: any) {
        throw new BuncError(`--process ${a.process}: ${e.code ?? e.message}`);
      }
      // The schemas (valibot) are loaded only for --process: an exec of a command does not parse one.
      // Through spec/parse, not `import("valibot")`: a dynamic import of the whole package made
      // the bundler keep all of valibot (82 KB) in the chunk every config parse loads.
      p = (await import("../../spec/parse")).parseProcess(json, a.process);
    } else {
      if (!command.length) throw new BuncError("exec: no command given (bunc exec <id> <command> [args...])");
      const base = c.state.config.process!;
      p = { ...base, args: command, terminal: !!a.tty };
      const env = repeated(own, ["--env", "-e"]);
      if (env.length) {
        const keys = new Set(env.map((e) => e.split("=")[0]));
        p.env = [...p.env.filter((e) => !keys.has(e.split("=")[0])), ...env];
      }
      if (a.cwd) p.cwd = a.cwd;
      if (a.user) {
        const [uid, gid] = a.user.split(":").map(Number);
        if (!Number.isInteger(uid) || (gid !== undefined && !Number.isInteger(gid))) throw new BuncError(`invalid --user "${a.user}": use UID[:GID]`);
        p.user = { ...p.user, uid: uid!, gid: gid ?? 0 };
      }
      const gids = repeated(own, ["--additional-gids", "-g"]).map(Number);
      if (gids.length) p.user = { ...(p.user ?? { uid: 0, gid: 0 }), additionalGids: gids };
      const caps = repeated(own, ["--cap", "-c"]);
      if (caps.length) {
        const add = (set?: string[]) => [...new Set([...(set ?? []), ...caps])];
        const k = p.capabilities ?? {};
        p.capabilities = { ...k, bounding: add(k.bounding), effective: add(k.effective), permitted: add(k.permitted) };
        // As runc: ambient too when there is an inheritable set (a capability cannot be ambient without it).
        if (k.inheritable) p.capabilities.ambient = add(k.ambient);
      }
      if (a["no-new-privs"]) p.noNewPrivileges = true;
      if (a.apparmor) p.apparmorProfile = a.apparmor;
      if (a["process-label"]) p.selinuxLabel = a["process-label"];
    }
    cli.exitCode = await execInContainer(cli.runtime, {
      id: a.id, process: p, detach: a.detach, pidFile: a["pid-file"], ignorePaused: a["ignore-paused"], cgroup: repeated(own, ["--cgroup"]),
      preserveFds: preserveFds(a["preserve-fds"]), consoleSocket: a["console-socket"], pidfdSocket: a["pidfd-socket"],
    }, c);
}
