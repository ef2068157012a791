#!/usr/bin/env bun
// bunc's entry point. A container's init is bunc re-executed with _BUNC_INIT set: it
// takes the short path, without loading the CLI.
const initFd = process.env._BUNC_INIT;
if (initFd !== undefined) {
  delete process.env._BUNC_INIT;
  const { runInit } = await import("../runtime/init");
  runInit(Number(initFd));
} else {
  const { main } = await import("./dispatch");
  process.exitCode = await main(process.argv.slice(2));
}
