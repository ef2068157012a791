// The guests' QEMU machine, one definition for the build's saved boot and for every run: a run
// restores the state the build saved (`-incoming`), which QEMU accepts only on the same machine
// (memory, vCPUs, devices). The guest's runner (build.ts) waits on its serial line for the
// host's "go <epoch>" before it mounts the share, so the state is saved before the share is
// mounted (QEMU refuses to migrate a mounted 9p export) and a restored guest goes on from there.
//
// Test tooling, not bunc: it shells out to qemu-system-x86_64 and speaks QMP to it.
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";

/** The machine a guest is saved and restored as. */
export const MACHINE = { memMiB: 4096, smp: 2 } as const;

/** What the runner prints on the console once it waits for "go". */
export const READY = "bunc-guest: ready";

export function qemuBinary(): string {
  const q = Bun.which("qemu-system-x86_64");
  if (!q) throw new Error("qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86 qemu-utils; .ci/run installs it)");
  return q;
}

export interface MachineOptions {
  kernel: string;
  initrd: string;
  cmdline: string;
  disk: string;
  /** The folder shared as the 9p tag "share". */
  share: string;
  /** QMP's unix socket. */
  qmp: string;
  smp?: number;
  /** Writes go to a throwaway overlay, the image stays as it is (every run); the build writes it. */
  snapshot: boolean;
  /** A saved state to restore instead of booting. */
  incoming?: string;
}

/**
 * TCG's threading: "single" runs a guest's vCPUs in turn on one host thread. Four guests on two
 * cores with "multi" (a host thread per vCPU) spent a third more CPU for the same checks: a
 * vCPU's exclusive sections wait for its siblings, which are often not on a core. The state
 * saved is the same either way; BUNC_GUEST_TCG_THREAD=multi compares.
 */
const TCG_THREAD = process.env.BUNC_GUEST_TCG_THREAD === "multi" ? "multi" : "single";

export function machineArgs(o: MachineOptions): string[] {
  return [
    qemuBinary(), "-nodefaults", "-no-user-config",
    "-accel", `tcg,thread=${TCG_THREAD}`, "-cpu", "max", "-m", String(MACHINE.memMiB), "-smp", String(o.smp ?? MACHINE.smp),
    "-kernel", o.kernel, "-initrd", o.initrd, "-append", o.cmdline,
    "-drive", `file=${o.disk},format=raw,if=virtio,cache=unsafe${o.snapshot ? ",snapshot=on" : ""}`,
    "-virtfs", `local,path=${o.share},mount_tag=share,security_model=none`,
    "-nic", "none", "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
    "-qmp", `unix:${o.qmp},server=on,wait=off`,
    ...(o.incoming ? ["-incoming", `exec:cat ${o.incoming}`] : []),
  ];
}

/** A QMP connection: one command at a time, events skipped. */
export class Qmp {
  private buf = "";
  private waiters: ((line: any) => void)[] = [];
  private constructor(private readonly sock: Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line);
        if (msg.event || msg.QMP) continue;
        this.waiters.shift()?.(msg);
      }
    });
    sock.on("error", () => {});
  }

  /** Connects to the socket QEMU listens on (it appears once QEMU is up), within deadlineMs. */
  static async open(path: string, deadlineMs = 60_000): Promise<Qmp> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      if (existsSync(path)) {
        const sock = await new Promise<Socket | undefined>((resolve) => {
          const s = connect(path, () => resolve(s));
          s.once("error", () => resolve(undefined));
        });
        if (sock) {
          const q = new Qmp(sock);
          await q.command("qmp_capabilities");
          return q;
        }
      }
      if (Date.now() > end) throw new Error(`QMP socket ${path} did not answer within ${deadlineMs} ms`);
      await Bun.sleep(100);
    }
  }

  command(execute: string, args?: object): Promise<any> {
    return new Promise((resolve, reject) => {
      this.waiters.push((m) => (m.error ? reject(new Error(`QMP ${execute}: ${m.error.desc}`)) : resolve(m.return)));
      this.sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + "\n");
    });
  }

  /** Polls `query` every 100 ms until `done` says so, within deadlineMs. */
  async until(query: string, done: (r: any) => boolean, deadlineMs: number): Promise<any> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const r = await this.command(query);
      if (done(r)) return r;
      if (Date.now() > end) throw new Error(`QMP ${query}: still ${JSON.stringify(r)} after ${deadlineMs} ms`);
      await Bun.sleep(100);
    }
  }

  close() {
    this.sock.destroy();
  }
}

/** Reads a stream to its end, calling onText with everything read so far after each chunk. */
export async function collect(stream: ReadableStream<Uint8Array>, onText?: (all: string) => void): Promise<string> {
  const dec = new TextDecoder();
  let all = "";
  for await (const chunk of stream) {
    all += dec.decode(chunk, { stream: true });
    onText?.(all);
  }
  return all + dec.decode();
}
