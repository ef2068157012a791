// A part of a schema built on its first use. Building valibot schemas is most of what loading
// the config schemas costs a create (callgrind: ~4 M of a one-line program's instructions,
// against ~1.5 M to check a config), and a config leaves most parts out: hooks, seccomp, the
// resources but devices, the scheduling and memory-policy fields. Issues and types are the
// wrapped schema's own.
import * as v from "valibot";

export type Lazily<T extends v.GenericSchema> = v.LazySchema<T> & {
  /** Whether a value has needed it yet (tests check what a config builds). */
  readonly isBuilt: boolean;
};

export function lazily<T extends v.GenericSchema>(build: () => T): Lazily<T> {
  let built: T | undefined;
  const schema = v.lazy(() => (built ??= build()));
  return Object.defineProperty(schema, "isBuilt", { get: () => built !== undefined }) as Lazily<T>;
}
