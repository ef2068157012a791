// Device numbers: dev_t encoded as glibc's makedev(3) does it for the kernel (mknod, mknodat).

/** The low 8 bits of minor and 12 of major where the old 16-bit dev_t had them, the rest above. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}
