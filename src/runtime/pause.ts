// `pause` and `resume`: the container's cgroups frozen (the freezer of v1, cgroup.freeze of v2) and thawed.
import { withContainer } from "./state";
import { requireStatus } from "./status";
import { requireCgroups } from "./cgroups";

export function pauseContainer(root: string, id: string): void {
  withContainer(root, id, (c) => {
    requireStatus(c, "pause");
    requireCgroups(c).freeze();
  });
}

export function resumeContainer(root: string, id: string): void {
  withContainer(root, id, (c) => {
    requireStatus(c, "resume");
    requireCgroups(c).thaw();
  });
}
