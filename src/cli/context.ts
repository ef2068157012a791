// What every command needs besides its own flags: the global flags, the runtime context
// built from them (--root, and a logger for --log, --log-format and --debug) and the exit status.
import type { Globals } from "./globals";
import type { RuntimeContext } from "../runtime/context";

export const cli = {
  globals: undefined as unknown as Globals,
  runtime: undefined as unknown as RuntimeContext,
  exitCode: 0,
};
