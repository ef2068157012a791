// `bunc run --rootfs <tarball|dir> -- <cmd>`: a container straight from a rootfs tarball,
// a rootfs directory or a bundle, removed with everything it made once it exits.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { runContainer } from "./run";
import { defaultSpec } from "../spec/default";
import { BuncError } from "./errors";
import { tracer } from "./trace";

export interface OneShotOptions {
  root: string;
  source: string;
  id?: string;
  args: string[];
  tty?: boolean;
  detach?: boolean;
  warn?: (m: string) => void;
  debug?: (m: string) => void;
}

export async function runFromRootfs(o: OneShotOptions): Promise<number> {
  const source = resolve(o.source);
  if (!existsSync(source)) throw new BuncError(`--rootfs ${o.source} does not exist`);
  if (o.detach) throw new BuncError("run --rootfs cannot --detach: its bundle is removed when the command ends");
  mkdirSync(o.root, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(o.root, ".oneshot-"));
  // Unique, so that one-shots run side by side (the user's command never names it).
  const id = o.id ?? `bunc-${randomBytes(6).toString("hex")}`;
  const trace = tracer(`run --rootfs ${id}`, o.debug);
  trace(`from ${source}`);
  // Not root: a rootless config (the caller mapped to root in a user namespace), as a user would pick.
  const rootless = process.geteuid?.() !== 0;
  const spec = (rootfs: string) => defaultSpec({ rootfs, args: o.args.length ? o.args : ["sh"], terminal: !!o.tty, rootless });
  try {
    let bundle = work;
    if (statSync(source).isDirectory()) {
      if (existsSync(join(source, "config.json"))) {
        // A bundle: its config, with the command replaced when one is given.
        const c = JSON.parse(readFileSync(join(source, "config.json"), "utf8"));
        c.root.path = resolve(source, c.root?.path ?? "rootfs");
        if (o.args.length) c.process = { ...c.process, args: o.args };
        if (o.tty) c.process = { ...c.process, terminal: true };
        writeFileSync(join(work, "config.json"), JSON.stringify(c));
      } else {
        writeFileSync(join(work, "config.json"), JSON.stringify(spec(source)));
      }
    } else {
      const { createBundle } = await import("../bundle");
      const r = await createBundle(source, join(work, "bundle"), { args: o.args.length ? o.args : ["sh"], terminal: !!o.tty, progress: false, rootless });
      for (const w of r.warnings) o.warn?.(w);
      bundle = join(work, "bundle");
      const c = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
      c.root.readonly = false; // a private copy: let the command write to it
      writeFileSync(join(bundle, "config.json"), JSON.stringify(c));
    }
    trace(`bundle ready in ${bundle}`);
    return await runContainer({ root: o.root, id, bundle, warn: o.warn, debug: o.debug });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
