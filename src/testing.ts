// A throwaway container for a `bun test` test. The container is removed when the test ends,
// whether it passed, failed or timed out: removal is registered with bun:test's
// onTestFinished (which also runs on a timeout) before the container is made, and an abort
// reaches a create() still unpacking the image, which then removes what it made.
import { create, type ContainerHandle, type RunOptions } from "./api";
import { BuncError } from "./sys/errors";

export type ContainerOptions = Omit<RunOptions, "stdin">;

/**
 * In a test: a running container from `o.image` (any image form, tarball, rootfs dir or
 * bundle), removed when the test finishes. Without `cmd` it runs `sleep 3600` in place of
 * the image's command (its Entrypoint too), so that the test can `exec` in it; with `cmd`,
 * what run() would run.
 *
 *   test("alpine has busybox", async () => {
 *     const box = await useContainer({ image: "alpine.tar.gz" });
 *     expect((await box.exec(["busybox", "--help"])).exitCode).toBe(0);
 *   });
 */
export async function useContainer(o: ContainerOptions): Promise<ContainerHandle> {
  let onTestFinished: (fn: () => unknown) => void;
  try {
    ({ onTestFinished } = await import("bun:test"));
  } catch {
    throw new BuncError("useContainer: call it inside a `bun test` test (it removes the container when the test ends)");
  }
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  let made: Promise<ContainerHandle> | undefined;
  onTestFinished(async () => {
    stop.abort(new BuncError("the test finished"));
    // A create() still under way removes its container itself on the abort; a made one is removed here.
    const box = await made?.catch(() => undefined);
    await box?.remove();
  });
  const idle = o.cmd === undefined && o.process?.args === undefined ? { process: { ...o.process, args: ["sleep", "3600"] } } : {};
  made = create({ ...o, ...idle, signal });
  return made;
}

/**
 * The same as a test function: `test(name, withContainer(options, async (box) => { ... }))`.
 */
export function withContainer(o: ContainerOptions, fn: (box: ContainerHandle) => unknown): () => Promise<void> {
  return async () => {
    await fn(await useContainer(o));
  };
}
