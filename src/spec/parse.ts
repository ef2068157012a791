// Reads and validates config.json; every problem is reported with its JSON path.
import * as v from "valibot";
import { ConfigSchema, ProcessSchema, type Config, type Process } from "./schema";
import { BuncError, oneLine } from "../sys/errors";
import { readText } from "../sys/files";
export { oneLine };

/**
 * User input quoted in an error message stays on one short line: control and
 * bidirectional characters escaped, long values cut.
 */
export function formatIssue(issue: v.BaseIssue<unknown>): string {
  const path = (issue.path ?? [])
    .map((p, i) => (typeof p.key === "number" ? `[${p.key}]` : `${i ? "." : ""}${oneLine(String(p.key), 80)}`))
    .join("");
  return oneLine(`${path || "config"}: ${issue.message}`);
}

/**
 * A member whose value is null is a member left out, as runc (Go), youki (serde) and crun
 * read a config (runc's timens.bats sets `linux.timeOffsets` to null). Null in an array
 * stays, and fails validation there.
 */
export function dropNulls<T>(json: T): T {
  if (Array.isArray(json)) {
    for (const item of json) dropNulls(item);
  } else if (json && typeof json === "object") {
    for (const key of Object.keys(json)) {
      const value = (json as any)[key];
      if (value === null) delete (json as any)[key];
      else if (typeof value === "object") dropNulls(value);
    }
  }
  return json;
}

export function parseConfig(json: unknown, where = "config.json"): Config {
  return checkConfig(dropNulls(json), where);
}

function checkConfig(json: unknown, where: string): Config {
  const result = v.safeParse(ConfigSchema, json);
  if (!result.success) throw new BuncError(`invalid ${where}: ${formatIssue(result.issues[0])}`);
  return validateSemantics(result.output, where);
}

/** An `exec --process` file's process, checked as config.json's `process` is. */
export function parseProcess(json: unknown, where: string): Process {
  const result = v.safeParse(ProcessSchema, dropNulls(json));
  if (!result.success) throw new BuncError(`invalid --process ${where}: ${formatIssue(result.issues[0])}`);
  return result.output;
}

/** Rules the schema cannot express on its own. */
function validateSemantics(c: Config, where: string): Config {
  const seen = new Set<string>();
  for (const [i, ns] of c.linux.namespaces.entries()) {
    if (seen.has(ns.type)) throw new BuncError(`invalid ${where}: linux.namespaces[${i}]: duplicate namespace type "${ns.type}"`);
    seen.add(ns.type);
  }
  const rlimits = new Set<string>();
  for (const [i, r] of (c.process?.rlimits ?? []).entries()) {
    if (rlimits.has(r.type)) throw new BuncError(`invalid ${where}: process.rlimits[${i}].type: duplicate "${r.type}"`);
    rlimits.add(r.type);
  }
  const userNs = seen.has("user");
  if ((c.linux.uidMappings?.length || c.linux.gidMappings?.length) && !userNs)
    throw new BuncError(`invalid ${where}: linux.uidMappings: id mappings need a user namespace`);
  const newUserNs = c.linux.namespaces.some((n) => n.type === "user" && !n.path);
  if (newUserNs && !(c.linux.uidMappings?.length && c.linux.gidMappings?.length))
    throw new BuncError(`invalid ${where}: linux.uidMappings: a new user namespace needs uidMappings and gidMappings`);
  if (c.linux.timeOffsets && !seen.has("time"))
    throw new BuncError(`invalid ${where}: linux.timeOffsets: needs a time namespace`);
  for (const [key] of Object.entries(c.linux.sysctl ?? {})) {
    if (key.includes("..") || key.includes("/") && key.split("/").some((p) => p === ".."))
      throw new BuncError(`invalid ${where}: linux.sysctl: invalid key ${oneLine(JSON.stringify(key), 80)}`);
  }
  // An empty name means "leave it" (as runc does); a name without a uts namespace of the
  // container would rename the host.
  if (c.hostname === "") delete c.hostname;
  if (c.domainname === "") delete c.domainname;
  if (c.hostname && !seen.has("uts")) throw new BuncError(`invalid ${where}: hostname: needs a new uts namespace`);
  if (c.domainname && !seen.has("uts")) throw new BuncError(`invalid ${where}: domainname: needs a new uts namespace`);
  return c;
}

export function readConfig(file: string): Config {
  let text: string;
  try {
    text = readText(file);
  } catch (e: any) {
    throw new BuncError(e.code === "ENOENT" ? `config file ${file} not found` : `cannot read ${file}: ${e.code ?? e.message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e: any) {
    throw new BuncError(`invalid ${file}: not JSON: ${e.message}`);
  }
  // Most configs have no null: no walk over them then.
  return checkConfig(text.includes("null") ? dropNulls(json) : json, file);
}
