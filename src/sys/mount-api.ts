// The new mount API (Linux 5.2+, mount_setattr 5.12): detached trees made with open_tree
// or fsopen/fsconfig/fsmount, changed with mount_setattr, put in place with move_mount.
import { checkedSyscall, cstr, ptr } from "./libc";
import { O } from "./arch";

const AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = O.CLOEXEC;
const MOVE_MOUNT_F_EMPTY_PATH = 4, MOVE_MOUNT_T_EMPTY_PATH = 0x40;
const FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;

/** FSCONFIG_* commands of fsconfig(2). */
export const FSCONFIG = { SET_FLAG: 0, SET_STRING: 1, SET_FD: 5, CMD_CREATE: 6 } as const;

/** A detached clone (close-on-exec) of the mount at `path` (and below it when `recursive`); errors name `context`. */
export function openTree(path: string, opts: { recursive?: boolean; context?: string } = {}): number {
  const flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (opts.recursive ? AT_RECURSIVE : 0);
  return Number(checkedSyscall("open_tree", [AT_FDCWD, ptr(cstr(path)), flags], opts.context ?? path));
}

/** A detached clone (close-on-exec) of the mount of the file open as `fd`, rooted at that file: a bind source no path can swap. */
export function openTreeOfFd(fd: number, context: string): number {
  return Number(checkedSyscall("open_tree", [fd, ptr(cstr("")), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH], context));
}

export interface MountAttr { set: bigint; clear?: bigint; propagation?: bigint; usernsFd?: number }

/** mount_setattr(2) on `path` below `dirFd`, or on the mount `dirFd` itself when path is "". */
export function mountSetattr(dirFd: number, path: string, attr: MountAttr, opts: { recursive?: boolean; context?: string } = {}): void {
  const a = new BigUint64Array([attr.set, attr.clear ?? 0n, attr.propagation ?? 0n, BigInt(attr.usernsFd ?? 0)]);
  const flags = (path === "" ? AT_EMPTY_PATH : 0) | (opts.recursive ? AT_RECURSIVE : 0);
  const what = attr.usernsFd !== undefined ? "mount_setattr(MOUNT_ATTR_IDMAP)" : "mount_setattr";
  checkedSyscall(what, [dirFd, ptr(cstr(path)), flags, ptr(a), a.byteLength], opts.context ?? path);
}

/** move_mount(2) of the detached tree `fromFd` onto the mount point fd `toFd`, or onto `toPath` when toFd is -1. */
export function moveMount(fromFd: number, toFd: number, toPath: string): void {
  const empty = cstr("");
  if (toFd >= 0) checkedSyscall("move_mount", [fromFd, ptr(empty), toFd, ptr(empty), MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH], toPath);
  else checkedSyscall("move_mount", [fromFd, ptr(empty), AT_FDCWD, ptr(cstr(toPath)), MOVE_MOUNT_F_EMPTY_PATH], toPath);
}

/** A filesystem context of `fstype` (close-on-exec), to configure with fsconfig. */
export function fsopen(fstype: string, context?: string): number {
  return Number(checkedSyscall("fsopen", [ptr(cstr(fstype)), FSOPEN_CLOEXEC], context ?? fstype));
}

/** One fsconfig(2) command on the context `fs` (key/value null where the command takes none). */
export function fsconfig(fs: number, cmd: number, key: string | null, value: string | null, aux: number, context?: string): void {
  checkedSyscall("fsconfig", [fs, cmd, key === null ? null : ptr(cstr(key)), value === null ? null : ptr(cstr(value)), aux], context ?? key ?? undefined);
}

/** The created filesystem as a detached mount (close-on-exec) with MOUNT_ATTR_* `attrs`. */
export function fsmount(fs: number, attrs: number, context?: string): number {
  return Number(checkedSyscall("fsmount", [fs, FSMOUNT_CLOEXEC, attrs], context));
}
