// ioctls of namespace files (nsfs).
import { check, libc } from "./libc";

const NS_GET_NSTYPE = 0xb703n;

/** The CLONE_NEW* type of the namespace fd `fd` refers to (ENOTTY: not a namespace file). */
export function namespaceType(fd: number, path?: string): number {
  return check("ioctl(NS_GET_NSTYPE)", libc.ioctl(fd, NS_GET_NSTYPE, null), path);
}
