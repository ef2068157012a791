// Download an Alpine minirootfs release for this architecture, verify its SHA-512 against the
// .sha512 file Alpine publishes beside it, and cache it under fixtures/cache/.
//   bun scripts/fetch-alpine.ts [version] [--arch x86_64] [--cache-dir DIR]   (mirror: $BUNC_ALPINE_MIRROR)
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const DEFAULT_VERSION = "3.20.3";
export const DEFAULT_MIRROR = "https://dl-cdn.alpinelinux.org/alpine";
const CACHE = resolve(import.meta.dir, "../fixtures/cache");

export interface FetchOptions {
  version?: string;
  arch?: string;
  mirror?: string;
  cacheDir?: string;
}

export function alpineArch(arch: string = process.arch): string {
  return ({ x64: "x86_64", arm64: "aarch64", arm: "armv7", ia32: "x86", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[arch] ?? arch;
}

const sha512 = (data: Uint8Array) => new Bun.CryptoHasher("sha512").update(data).digest("hex");

/** Returns the path of the verified tarball in the cache, downloading it when needed. */
export async function fetchAlpine(o: FetchOptions = {}): Promise<string> {
  const version = o.version ?? DEFAULT_VERSION, arch = o.arch ?? alpineArch();
  const mirror = (o.mirror ?? process.env.BUNC_ALPINE_MIRROR ?? DEFAULT_MIRROR).replace(/\/+$/, "");
  const cacheDir = o.cacheDir ?? CACHE;
  const name = `alpine-minirootfs-${version}-${arch}.tar.gz`;
  const dest = join(cacheDir, name);
  const sumFile = `${dest}.sha512`;
  if (existsSync(dest) && existsSync(sumFile) && sha512(readFileSync(dest)) === readFileSync(sumFile, "utf8").trim()) return dest;

  const minor = version.split(".").slice(0, 2).join(".");
  const url = `${mirror}/v${minor}/releases/${arch}/${name}`;
  const [data, sums] = await Promise.all([download(url), download(`${url}.sha512`)]);
  const expected = new TextDecoder().decode(sums).trim().split(/\s+/)[0]!.toLowerCase();
  const actual = sha512(data);
  if (actual !== expected) throw new Error(`SHA-512 mismatch for ${url}: expected ${expected}, got ${actual}`);
  mkdirSync(cacheDir, { recursive: true });
  try {
    writeFileSync(`${dest}.tmp`, data);
    renameSync(`${dest}.tmp`, dest);
    writeFileSync(sumFile, actual + "\n");
  } catch (e) {
    rmSync(`${dest}.tmp`, { force: true });
    throw e;
  }
  return dest;
}

async function download(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const flag = (name: string) => (argv.includes(name) ? argv.splice(argv.indexOf(name), 2)[1] : undefined);
  const arch = flag("--arch"), cacheDir = flag("--cache-dir");
  try {
    console.log(await fetchAlpine({ version: argv[0], arch, cacheDir }));
  } catch (e) {
    console.error(`fetch-alpine: ${(e as Error).message}`);
    process.exit(1);
  }
}
