// Glue between the container lifecycle and the cgroups library (src/linux/cgroups).
import type { Config } from "../spec/schema";

export interface ContainerCgroups {
  create(): void;
  addProcess(pid: number): void;
  apply(): void;
  destroy(): void;
}

export function cgroupsFor(_id: string, _config: Config, _warn: (m: string) => void): ContainerCgroups | undefined {
  return undefined;
}
