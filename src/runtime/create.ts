// `create`: the bundle checked and the container planned (create-plan.ts), the id claimed
// with its cgroups, the init cloned into the namespaces and released (create-steps.ts), the
// rootfs set up by bunc or by the Bun init (create-setup.ts), then the go. Any failure
// undoes everything made so far.
import { asBuncError } from "../sys/errors";
import { planCreate, type CreateOptions } from "./create-plan";
import { Creation } from "./create-steps";
import { setUpByBunc, setUpByBunInit } from "./create-setup";
import type { Container } from "./state";
import { tracer } from "./trace";
import type { RuntimeContext } from "./context";

export type { CreateOptions } from "./create-plan";

export function createContainer(ctx: RuntimeContext, o: CreateOptions): Container {
  const trace = tracer(`create ${o.id}`, ctx.log.debug);
  const plan = planCreate(ctx, o);
  trace(`config read and checked; the rootfs set up by ${plan.fromHost ? "bunc's own thread (no second Bun)" : `the Bun init (${plan.whyNotFromHost})`}`);
  const c = new Creation(ctx, o, plan, trace);
  try {
    c.claimState();
    c.spawnInit();
    if (plan.fromHost) setUpByBunc(c);
    else setUpByBunInit(c);
    return c.finish();
  } catch (e) {
    c.undo(e);
    throw asBuncError(e);
  } finally {
    c.close();
  }
}
