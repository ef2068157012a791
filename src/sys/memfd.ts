// Code and requests embedded in the binary reach dlopen, TinyCC, execve and the native init as memfds.
import { ptr } from "bun:ffi";
import { check, checkedSyscall, cstr, libc } from "./libc";
import { writeFully } from "./files";

/**
 * A memfd holding `bytes`: how code embedded in the binary reaches dlopen, TinyCC and
 * execveat. Sealed, it can never change (a container cannot write it through /proc/<pid>/exe).
 */
export function memfd(name: string, bytes: Uint8Array | string, seal = false): number {
  const fd = Number(checkedSyscall("memfd_create", [ptr(cstr(name)), 1 /* MFD_CLOEXEC */ | (seal ? 2 /* MFD_ALLOW_SEALING */ : 0)], name));
  writeFully(fd, bytes, name);
  // F_ADD_SEALS: SEAL_SEAL | SEAL_SHRINK | SEAL_GROW | SEAL_WRITE
  if (seal) check("fcntl(F_ADD_SEALS)", libc.fcntl(fd, 1033, 0xfn));
  return fd;
}
