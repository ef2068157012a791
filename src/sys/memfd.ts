// Code and requests embedded in the binary reach dlopen, TinyCC, execve and the native init as memfds.
import { check, checkedSyscall, cstr, libc, SyscallError, ptr } from "./libc";
import { writeFully } from "./files";

const MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_EXEC = 0x10;
const EINVAL = 22;

/**
 * A memfd holding `bytes`: how code embedded in the binary reaches dlopen, TinyCC and
 * execve. Sealed, it can never change (a container cannot write it through /proc/<pid>/exe).
 * `executable` (the native init, nsexec.so) asks for MFD_EXEC: with vm.memfd_noexec=1
 * (Linux 6.3+) a memfd is otherwise made non-executable for good; a kernel before 6.3 does
 * not know the flag and executes any memfd.
 */
export function memfd(name: string, bytes: Uint8Array | string, seal = false, executable = false): number {
  const flags = MFD_CLOEXEC | (seal ? MFD_ALLOW_SEALING : 0);
  const create = (f: number) => Number(checkedSyscall("memfd_create", [ptr(cstr(name)), f], name));
  let fd: number;
  try {
    fd = create(executable ? flags | MFD_EXEC : flags);
  } catch (e) {
    if (!executable || !(e instanceof SyscallError && e.errno === EINVAL)) throw e;
    fd = create(flags);
  }
  writeFully(fd, bytes, name);
  // F_ADD_SEALS: SEAL_SEAL | SEAL_SHRINK | SEAL_GROW | SEAL_WRITE
  if (seal) check("fcntl(F_ADD_SEALS)", libc.fcntl(fd, 1033, 0xfn));
  return fd;
}
