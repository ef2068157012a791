// A rootfs tarball (a path or bytes; gzip or plain tar, told by magic bytes) as a stream of tar
// chunks: read in fixed chunks into one buffer, inflated as they come, each chunk handed on
// before the next is read, so peak memory does not grow with the archive. A gzip file is
// inflated on a thread of its own where the binary carries one (sys/inflate-thread.ts), a
// batch ahead of the files being written.
import { Gunzip, GunzipError } from "./gunzip";
import { UnpackError } from "./unpack-error";
import { O } from "../sys/arch";
import { fileSize, openPath, readFd, statFd } from "../sys/files";
import { InflateThread } from "../sys/inflate-thread";
import { SyscallError } from "../sys/libc";

export const READ_CHUNK = 64 * 1024;
const BLOCK = 512;

/**
 * Calls `onTar` with the archive's tar bytes in order, at most `maxBytes` of them (views valid
 * only during the call), and `onRead` with the input bytes read so far and their total.
 */
export function streamArchive(input: number | Uint8Array, maxBytes: number, onTar: (chunk: Uint8Array) => void, onRead?: (read: number, total: number) => void): void {
  let gzip: boolean | undefined, gunzip: Gunzip | undefined;
  let tarBytes = 0, headFill = 0;
  const head = new Uint8Array(BLOCK); // the first block, checked before anything is unpacked
  const emit = (chunk: Uint8Array) => {
    if ((tarBytes += chunk.length) > maxBytes) throw tooLarge(maxBytes);
    if (headFill === BLOCK) return onTar(chunk);
    const n = Math.min(BLOCK - headFill, chunk.length);
    head.set(chunk.subarray(0, n), headFill);
    if ((headFill += n) < BLOCK) return;
    checkHead(head, gzip!);
    onTar(head);
    if (n < chunk.length) onTar(chunk.subarray(n));
  };
  const inflate = (step: () => void) => {
    try {
      step();
    } catch (e) {
      if (!(e instanceof GunzipError)) throw e; // the tar side's own errors pass through
      throw (e.cause as any)?.code === "ERR_BUFFER_TOO_LARGE" ? tooLarge(maxBytes) : new UnpackError("truncated or corrupt gzip data", { cause: e });
    }
  };
  const take = (chunk: Uint8Array, read: number, total: number) => {
    gzip ??= detect(chunk);
    if (gzip) inflate(() => (gunzip ??= new Gunzip(emit, maxBytes)).push(chunk));
    else emit(chunk);
    onRead?.(read, total);
  };
  try {
    if (typeof input === "number") {
      const total = fileSize(input), buf = new Uint8Array(READ_CHUNK);
      let n = readFd(input, buf), read = n;
      const first = buf.subarray(0, n);
      gzip = n > 0 ? detect(first) : undefined;
      // A regular file only: a pipe's writer could stall a thread that must be joined on an error.
      if (!(gzip && statFd(input).isFile() && inflateOnThread(input, first, total, emit, onRead))) {
        take(first, read, total);
        while ((n = readFd(input, buf)) > 0) take(buf.subarray(0, n), (read += n), total);
      }
    } else take(input, input.length, input.length);
    if (gunzip) inflate(() => gunzip!.finish());
  } finally {
    gunzip?.close();
  }
  if (headFill < BLOCK) throw new UnpackError(gzip ? "gzip data is not a tar archive" : "not a gzip or tar archive (unknown magic bytes)");
}

/** An archive file opened for streamArchive; a missing or unreadable one is the user's typo, not a corrupt archive. */
export function openArchive(path: string): number {
  try {
    return openPath(path, O.RDONLY | O.CLOEXEC);
  } catch (e: any) {
    throw new UnpackError(e.code === "ENOENT" ? `${path}: no such file` : `${path}: cannot read: ${e.code ?? e.message}`);
  }
}

/**
 * The rest of a gzip archive inflated on a thread of its own (sys/inflate-thread.ts) while
 * `emit` writes what came before: false (nothing consumed) where that thread cannot start.
 */
function inflateOnThread(fd: number, first: Uint8Array, total: number, emit: (chunk: Uint8Array) => void, onRead?: (read: number, total: number) => void): boolean {
  const thread = InflateThread.start(fd, first);
  if (!thread) return false;
  try {
    for (let chunk: Uint8Array | undefined; (chunk = thread.next()); ) {
      emit(chunk);
      onRead?.(thread.inputRead, total);
    }
    const end = thread.finish();
    if (end.ok) return true;
    if (end.errno !== undefined) throw new SyscallError(end.message, end.errno);
    throw new UnpackError("truncated or corrupt gzip data", { cause: new Error(end.message) });
  } finally {
    thread.close();
  }
}

/** Whether the input is gzip; refuses the compressions bunc does not read. */
function detect(b: Uint8Array): boolean {
  if (b[0] === 0x1f && b[1] === 0x8b) return true;
  refuseOther(b);
  return false;
}

function checkHead(b: Uint8Array, gzip: boolean): void {
  if (gzip) refuseOther(b);
  if (new TextDecoder().decode(b.subarray(257, 262)) !== "ustar") throw new UnpackError(gzip ? "gzip data is not a tar archive" : "not a gzip or tar archive (unknown magic bytes)");
}

function refuseOther(b: Uint8Array): void {
  const starts = (m: number[]) => {
    for (let i = 0; i < m.length; i++) if (b[i] !== m[i]) return false;
    return true;
  };
  const other = starts([0x28, 0xb5, 0x2f, 0xfd]) ? "zstd" : starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) ? "xz" : starts([0x42, 0x5a, 0x68]) ? "bzip2" : undefined;
  if (other) throw new UnpackError(`${other}-compressed: bunc reads tar and gzip; decompress it first (${other} -d)`);
}

const tooLarge = (max: number) => new UnpackError(`archive is larger than the limit of ${max} bytes`);
