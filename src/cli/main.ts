#!/usr/bin/env bun
// bunc's entry point. A container's init is bunc re-executed with _BUNC_INIT set: it
// takes the short path, without loading the CLI. (No top-level await: it keeps the
// compiled binary eligible for bytecode.)
const initFd = process.env._BUNC_INIT;
if (initFd !== undefined) {
  delete process.env._BUNC_INIT;
  import("../runtime/init").then(({ runInit }) => runInit(Number(initFd)));
} else {
  import("./dispatch").then(async ({ main }) => {
    process.exitCode = await main(process.argv.slice(2));
  });
}
