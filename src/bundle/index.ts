export { createBundle, mergeEnv, type BundleOptions } from "./bundle";
export { unpackRootfs, UnpackError, DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, type UnpackOptions, type UnpackResult } from "./unpack";
export type { ProgressOutput } from "./progress";
