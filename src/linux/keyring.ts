// The container's session keyring, as runc: create joins a new one named `_ses.<id>` and
// makes it searchable, so that `exec` joins the same one by name; with --no-new-keyring
// both keep the caller's. The native init does the same in C (join_keyring).
import { SyscallError } from "../sys/libc";
import { addKeyringPerm, joinSessionKeyring } from "../sys/proc";
import { withContext } from "../sys/errors";

const KEY_USR_SEARCH = 0x80000, KEY_OTH_SEARCH = 0x8;

export function sessionKeyringName(id: string): string {
  return `_ses.${id}`;
}

/**
 * What create adds to the keyring it makes, so that exec can find it by name: search by its
 * owner, which exec's process is when it joins (the container's root, before any user switch).
 * runc adds only "other" search in a user namespace, which the owner's check never reaches
 * (the kernel takes the owner's bits alone for the owner): there each runc exec makes a new,
 * empty keyring of that name. bunc adds both, so exec joins the init's there too.
 */
export function keyringSearchPerm(inUserNs: boolean): number {
  return inUserNs ? KEY_USR_SEARCH | KEY_OTH_SEARCH : KEY_USR_SEARCH;
}

/** The keyring exec joins ("" = keep the caller's); a state written before the flag was kept means join. */
export function execKeyringName(state: { id: string; noNewKeyring?: boolean }): string {
  return state.noNewKeyring ? "" : sessionKeyringName(state.id);
}

/**
 * Carried on from, as the native init does (join_keyring): ENOSYS (no keyrings), EPERM (an
 * outer container's filter refuses keyctl), EDQUOT (the key quota of a mapped root shared by
 * many containers is full). runc carries on from ENOSYS only.
 */
const SKIPPED_ERRNOS = [38, 1, 122];

/** Joins `name` and adds `addPerm` to it (0: none); a host without keyrings is left alone. */
export function joinContainerKeyring(name: string, addPerm = 0): void {
  let serial: number;
  try {
    serial = joinSessionKeyring(name);
  } catch (e) {
    if (e instanceof SyscallError && SKIPPED_ERRNOS.includes(e.errno)) return;
    throw withContext(`cannot join the session keyring ${name}`, e);
  }
  try {
    if (addPerm) addKeyringPerm(serial, addPerm);
  } catch (e) {
    throw withContext(`cannot make the session keyring ${name} searchable`, e);
  }
}
