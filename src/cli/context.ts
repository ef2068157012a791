// What every command needs besides its own flags: the global flags and the exit status.
import type { Globals } from "./globals";

export const cli = {
  globals: undefined as unknown as Globals,
  exitCode: 0,
};
