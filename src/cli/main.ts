#!/usr/bin/env bun
// bunc's entry point. A container's init is bunc re-executed with _BUNC_INIT set: it
// takes the short path, without loading the CLI. (No top-level await: it keeps the
// compiled binary eligible for bytecode.)
import { noteInheritedFds } from "../sys/inherited-fds";

const initFd = process.env._BUNC_INIT;
if (initFd !== undefined) {
  delete process.env._BUNC_INIT;
  import("../runtime/init").then(({ runInit }) => runInit(Number(initFd)));
} else {
  // Before bunc opens anything: which fds --preserve-fds or LISTEN_FDS may pass on.
  if (process.env.LISTEN_FDS || process.argv.some((a) => a.startsWith("--preserve-fds"))) noteInheritedFds();
  import("./dispatch").then(async ({ main }) => {
    process.exitCode = await main(process.argv.slice(2));
  });
}
