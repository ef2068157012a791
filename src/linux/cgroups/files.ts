// Reading and writing cgroup interface files. A write names the OCI setting it serves,
// so a host that lacks the file reports which part of the config it cannot honour.
import { BuncError } from "../../sys/errors";
import { closeFd, openPath, pathExists, readText, writeFully } from "../../sys/files";
import { O } from "../../sys/arch";

export class CgroupError extends BuncError {
  constructor(message: string, readonly setting?: string, code?: string) {
    super(message, { code });
    this.name = "CgroupError";
  }
}

export type Warn = (msg: string) => void;

/** Write like runc: O_WRONLY|O_TRUNC, never O_CREAT (a missing file means a missing controller). */
export function writeCgroupFile(dir: string, file: string, value: string | number, setting: string): void {
  const path = `${dir}/${file}`;
  let fd: number;
  try {
    fd = openPath(path, O.WRONLY | O.TRUNC);
  } catch (e: any) {
    if (e?.code === "ENOENT") throw new CgroupError(`${setting}: ${file} not available`, setting, "ENOENT");
    throw new CgroupError(`${setting}: open ${path}: ${e?.code ?? e}`, setting, e?.code);
  }
  try {
    writeFully(fd, String(value));
  } catch (e: any) {
    throw new CgroupError(`${setting}: write ${JSON.stringify(String(value))} to ${path}: ${e?.code ?? e}`, setting, e?.code);
  } finally {
    closeFd(fd);
  }
}

export function readCgroupFile(dir: string, file: string): string {
  return readText(`${dir}/${file}`);
}

/** undefined when the file is absent or unreadable (stats tolerate missing controllers). */
export function tryRead(dir: string, file: string): string | undefined {
  try {
    return readText(`${dir}/${file}`);
  } catch {
    return undefined;
  }
}

export function hasFile(dir: string, file: string): boolean {
  return pathExists(`${dir}/${file}`);
}

/** "a b\nc d" -> { a: b, c: d } with numeric values (memory.stat, cpu.stat, ...). */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? "").split("\n")) {
    const [k, val] = line.trim().split(/\s+/);
    if (k && val !== undefined && /^-?\d+$/.test(val)) out[k] = Number(val);
  }
  return out;
}
