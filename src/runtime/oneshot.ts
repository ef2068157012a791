// `bunc run --rootfs <tarball|dir> -- <cmd>`: a container straight from a rootfs tarball,
// a rootfs directory or a bundle, removed with everything it made once it exits.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomHex } from "../sys/random-id";
import { runContainer } from "./run";
import { defaultSpec } from "../spec/default";
import { BuncError } from "../sys/errors";
import { tracer } from "./trace";
import { cacheDir, cachedRootfs, DEFAULT_MAX_BYTES, pruneCache, writableView } from "./rootfs-cache";
import { splitImageRef } from "../image/ref";
import { removeTree } from "../bundle/remove";
import type { RuntimeContext } from "./context";
import type { OneShotPlan } from "./oneshot-options";

export interface OneShotOptions {
  source: string;
  id?: string;
  args: string[];
  tty?: boolean;
  detach?: boolean;
  /** The checked docker-like options (oneshot-options.ts). */
  plan?: OneShotPlan;
  /** Keep stdin open (docker's -i); without it the command's stdin is /dev/null. */
  interactive?: boolean;
}

/** A bundle to run `args` from a tarball, a rootfs directory or a bundle, in a scratch directory under the context's root. */
export async function prepareOneShot(ctx: RuntimeContext, o: { source: string; args: string[]; tty?: boolean; edit?: (config: any) => void; plan?: OneShotPlan; noCache?: boolean }): Promise<{ bundle: string; cleanup: () => void }> {
  const ref = splitImageRef(o.source); // an image may be named PATH:TAG
  const source = resolve(ref.path);
  if (!existsSync(source)) throw new BuncError(`${o.source}: no such image, tarball, rootfs or bundle`);
  mkdirSync(ctx.root, { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(ctx.root, ".oneshot-"));
  // Not root: a rootless config (the caller mapped to root in a user namespace), as a user would pick.
  const rootless = process.geteuid?.() !== 0;
  const args = o.args.length ? o.args : ["sh"];
  const undo: (() => void)[] = [];
  const cleanup = () => {
    for (const u of undo.splice(0).reverse()) u();
    removeTree(work); // a user's private copy may hold read-only directories
  };
  let plan = o.plan;
  const write = async (dir: string, c: any) => {
    o.edit?.(c);
    if (plan) (await import("./oneshot-options")).applyOneShot(c, plan);
    writeFileSync(join(dir, "config.json"), JSON.stringify(c));
  };
  try {
    let bundle = work;
    const image = (await import("../image/files")).openImage(source, ref.path);
    if (ref.tag !== undefined && !image) throw new BuncError(`${o.source}: ${ref.path} is not an image (OCI layout, OCI or docker archive): a :TAG names an image in one`);
    if (image) {
      const { prepareImage, imageProcess } = await import("../image");
      const asRoot = process.geteuid?.() === 0 && !o.noCache;
      const p = await prepareImage(image, { tag: ref.tag, scratch: join(work, "view"), cache: asRoot ? cacheDir() : undefined, source, warn: ctx.log.warn });
      undo.push(p.undo);
      if (p.added) pruneCache(DEFAULT_MAX_BYTES); // this run's layers are locked: kept
      const proc = imageProcess(p.image.config, o.args, o.source);
      const c = defaultSpec({ rootfs: p.rootfs, args: proc.args, terminal: !!o.tty, rootless });
      c.root.readonly = false;
      c.process.env = [...proc.env, ...c.process.env.filter((e: string) => e.startsWith("TERM=") && !proc.env.some((x) => x.startsWith("TERM=")))];
      c.process.cwd = proc.cwd;
      // The image's User unless -u/user was given; names are looked up in the image's /etc/passwd.
      if (proc.user && !plan?.user) {
        const { planOneShot, CLI_LABELS } = await import("./oneshot-options");
        const imageUser = planOneShot({ user: proc.user }, { ...CLI_LABELS, user: `${o.source}: the config's User` }).user;
        plan = { ...(plan ?? { mounts: [], env: [] }), user: imageUser };
      }
      await write(work, c);
    } else if (statSync(source).isDirectory()) {
      if (existsSync(join(source, "config.json"))) {
        // A bundle: its config, with the command replaced when one is given.
        const c = JSON.parse(readFileSync(join(source, "config.json"), "utf8"));
        c.root.path = resolve(source, c.root?.path ?? "rootfs");
        if (o.args.length) c.process = { ...c.process, args: o.args };
        if (o.tty) c.process = { ...c.process, terminal: true };
        await write(work, c);
      } else {
        const not = (await import("../image/files")).notARootfs(source, o.source);
        if (not) throw new BuncError(not);
        await write(work, defaultSpec({ rootfs: source, args, terminal: !!o.tty, rootless }));
      }
    } else if (process.geteuid?.() === 0 && !o.noCache) {
      // A tarball seen before is not unpacked again: a private overlay over the cached tree.
      const cached = await cachedRootfs(source, ctx.log.warn);
      const view = writableView(cached.rootfs, join(work, "view"));
      undo.push(view.undo, cached.release);
      const c = defaultSpec({ rootfs: view.rootfs, args, terminal: !!o.tty, rootless });
      c.root.readonly = false;
      await write(work, c);
    } else {
      const { createBundle } = await import("../bundle");
      const r = await createBundle(source, join(work, "bundle"), { args, terminal: !!o.tty, rootless });
      for (const w of r.warnings) ctx.log.warn(w);
      bundle = join(work, "bundle");
      const c = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
      c.root.readonly = false; // a private copy: let the command write to it
      await write(bundle, c);
    }
    return { bundle, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}

export async function runFromRootfs(ctx: RuntimeContext, o: OneShotOptions): Promise<number> {
  if (!existsSync(resolve(splitImageRef(o.source).path))) throw new BuncError(`${o.source}: no such image, tarball, rootfs or bundle`);
  if (o.detach) throw new BuncError("run --rootfs cannot --detach: its bundle is removed when the command ends");
  // Unique, so that one-shots run side by side (the user's command never names it).
  const id = o.id ?? `bunc-${randomHex(6)}`;
  const trace = tracer(`run --rootfs ${id}`, ctx.log.debug);
  trace(`from ${resolve(o.source)}`);
  const { bundle, cleanup } = await prepareOneShot(ctx, { source: o.source, args: o.args, tty: o.tty, plan: o.plan });
  // As docker: stdin is /dev/null unless -i (with -t the terminal carries the input).
  const devnull = o.interactive || o.tty ? undefined : openSync("/dev/null", "r");
  try {
    trace(`bundle ready in ${bundle}`);
    return await runContainer(ctx, { id, bundle, ...(devnull === undefined ? {} : { stdio: [devnull, 1, 2] as [number, number, number] }) });
  } finally {
    if (devnull !== undefined) closeSync(devnull);
    cleanup();
  }
}
