// valibot schema for OCI `linux.seccomp` (runtime-spec config-linux.md#seccomp). Unknown
// properties are ignored (containers-common's archMap/includes/comment pass through);
// an unknown action, operator, architecture or flag is an error naming its JSON path.
import * as v from "valibot";
import { lazily } from "./lazily";

export const SECCOMP_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;
export const SECCOMP_OPERATORS = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
] as const;
// Every architecture the spec names; the compiler uses those of the running machine's family.
export const SECCOMP_ARCHES = [
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
] as const;
import { SECCOMP_FLAGS, type SeccompFlagName } from "./seccomp-flags";
export { SECCOMP_FLAGS, type SeccompFlagName };

const picklist = <T extends readonly string[]>(items: T, what: string) =>
  v.picklist(items, (issue) => `unknown seccomp ${what} ${JSON.stringify(issue.input)}`);

const ERRNO_ACTIONS: readonly string[] = ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"];
const usesNotify = (s: { defaultAction: string; syscalls?: { action: string }[] | null }) =>
  s.defaultAction === "SCMP_ACT_NOTIFY" || !!s.syscalls?.some((r) => r.action === "SCMP_ACT_NOTIFY");

/** Built on first use (spec/lazily.ts): most configs have no seccomp. */
function buildSeccompSchema() {
  // uint64: a JSON number (exact up to 2^53) or a bigint from a lossless parser.
  const u64 = v.union([
    v.pipe(v.number(), v.integer(), v.minValue(0)),
    v.pipe(v.bigint(), v.minValue(0n), v.maxValue(0xffffffffffffffffn)),
  ], "must be an unsigned 64-bit integer");
  const errno = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4095));
  const SeccompArgSchema = v.looseObject({
    index: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(5)),
    value: u64,
    valueTwo: v.optional(u64, 0),
    op: picklist(SECCOMP_OPERATORS, "operator"),
  });

  const SeccompSyscallSchema = v.looseObject({
    names: v.pipe(v.array(v.string()), v.minLength(1, "must name at least one syscall")),
    action: picklist(SECCOMP_ACTIONS, "action"),
    errnoRet: v.optional(errno),
    args: v.optional(v.nullable(v.array(SeccompArgSchema))),
  });

  return v.pipe(
    v.looseObject({
      defaultAction: picklist(SECCOMP_ACTIONS, "action"),
      defaultErrnoRet: v.optional(errno),
      architectures: v.optional(v.nullable(v.array(picklist(SECCOMP_ARCHES, "architecture")))),
      flags: v.optional(v.nullable(v.array(picklist(Object.keys(SECCOMP_FLAGS) as SeccompFlagName[], "flag")))),
      listenerPath: v.optional(v.string()),
      listenerMetadata: v.optional(v.string()),
      syscalls: v.optional(v.nullable(v.array(SeccompSyscallSchema))),
    }),
    // The spec: errnoRet on an action that returns no errno is an error, and NOTIFY needs a listener.
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const s = dataset.value;
      // Build valibot path items by walking the keys, so the issue names e.g. syscalls.3.errnoRet.
      const bad = (message: string, keys: (string | number)[]) => {
        let input: any = s;
        const path = keys.map((key) => {
          const item = { type: typeof key === "number" ? "array" : "object", origin: "value", input, key, value: input?.[key] };
          input = item.value;
          return item;
        });
        addIssue({ message, path: path as any });
      };
      if (s.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.includes(s.defaultAction))
        bad(`${s.defaultAction} does not take an errno`, ["defaultErrnoRet"]);
      s.syscalls?.forEach((r, i) => {
        if (r.errnoRet !== undefined && !ERRNO_ACTIONS.includes(r.action))
          bad(`${r.action} does not take an errno`, ["syscalls", i, "errnoRet"]);
      });
      if (usesNotify(s) && !s.listenerPath) bad("SCMP_ACT_NOTIFY needs listenerPath", ["listenerPath"]);
    }),
  );
}
export const SeccompSchema = lazily(buildSeccompSchema);

export type SeccompProfile = v.InferOutput<typeof SeccompSchema>;
export type SeccompSyscall = NonNullable<SeccompProfile["syscalls"]>[number];
export type SeccompArg = NonNullable<SeccompSyscall["args"]>[number];
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];
export type SeccompArch = (typeof SECCOMP_ARCHES)[number];
