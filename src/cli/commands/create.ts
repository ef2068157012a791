import { defineCommand } from "../fast-args";
import { createArgs, idArg, preserveFds, requireBundle } from "../args";
import { cli } from "../context";
import { createContainer } from "../../runtime/create";
import { validateId } from "../../runtime/state";
import { preloadEmbedded } from "../../sys/embedded";
import { holdSignals } from "../../runtime/wait";

export default defineCommand({
  meta: { name: "create", description: "create a container from a bundle; it waits for `start`" },
  args: { ...idArg, ...createArgs },
  async run({ args }) {
    const held = holdSignals(); // as runc: no signal ends create halfway (runtime/wait.ts)
    await preloadEmbedded(); // the native init's and nsexec's bytes without node:fs (sys/embedded.ts)
    try {
      createContainer(cli.runtime, {
        id: validateId(args.id), bundle: requireBundle(args.bundle), pidFile: args["pid-file"],
        consoleSocket: args["console-socket"], pidfdSocket: args["pidfd-socket"], noPivot: args.pivot === false, noNewKeyring: args["new-keyring"] === false,
        preserveFds: preserveFds(args["preserve-fds"]), notifySocket: process.env.NOTIFY_SOCKET || undefined,
      });
    } finally {
      held.stop();
    }
  },
});
