// Which of a container's cgroups a new process (the init, or exec's) joins, and when.
// Apart from runtime/cgroups.ts so that exec loads the membership code alone, not the manager.
import { savedMembers, type Member } from "../linux/cgroups/membership";
import type { StoredState } from "./state";

/**
 * Hierarchies a bunc process (init or exec) joins only right before execve: their
 * limits would otherwise count the ~30 MB and dozen threads of the Bun runtime that
 * execve is about to drop (a 6 MiB memory limit or a small pids limit must still work).
 * Charges made before the move stay where they were made.
 */
export const joinsLate = (controllers: string[]) => controllers.includes("memory") || controllers.includes("pids");
export const joinsEarly = (controllers: string[]) => !joinsLate(controllers);

/** The cgroups of an existing container, from the paths saved at create (none: rootless without a delegated tree). */
export function containerMembers(state: StoredState): Member[] | undefined {
  if (!state.cgroupPaths || !Object.keys(state.cgroupPaths).length) return undefined;
  return savedMembers(state.cgroupPaths);
}
