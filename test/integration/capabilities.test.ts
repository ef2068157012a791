// Needs root. Capabilities as runc's default config writes them (ambient without
// inheritable) and capabilities the host cannot grant: the container runs, with what the
// kernel allows; a warning names what was not granted. Native init and Bun init alike.
import { describe, expect, test } from "bun:test";
import { fileSandbox, isRoot } from "../support/harness";
import { CAP_SYS_RESOURCE, hasCapability, skipping } from "../support/host";

const sb = fileSandbox();
const uid = () => "cp" + Math.random().toString(36).slice(2, 7);
// Only a host whose bounding set lacks a capability can show how one it cannot grant is handled.
const lacksSysResource = !(isRoot && skipping(hasCapability(CAP_SYS_RESOURCE), "a capability the host cannot grant (capabilities.test.ts)",
  "this host's bounding set has CAP_SYS_RESOURCE, the one the test asks for"));
const RUNC_SPEC = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
const field = (out: string, name: string) => BigInt("0x" + out.match(new RegExp(`^${name}:\\s+(\\w+)`, "m"))![1]);

describe.skipIf(!isRoot)("capabilities (root)", () => {
  for (const env of [{}, { BUNC_NATIVE_INIT: "0" }]) {
    const how = Object.keys(env).length ? "Bun init" : "native init";
    test(`runc spec's ambient set without inheritable runs, without ambient capabilities (${how})`, async () => {
      const b = await sb.bundle(uid(), ["grep", "Cap", "/proc/self/status"], (c) => {
        c.process.capabilities = { bounding: RUNC_SPEC, effective: RUNC_SPEC, permitted: RUNC_SPEC, ambient: RUNC_SPEC };
      });
      const r = sb.run(["run", "-b", b, uid()], { env });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(field(r.stdout, "CapAmb")).toBe(0n);
      expect(field(r.stdout, "CapEff")).toBe((1n << 29n) | (1n << 5n) | (1n << 10n));
    });

    test.skipIf(!lacksSysResource)(`a capability the host cannot grant is a warning, the rest is granted (${how})`, async () => {
      const want = [...RUNC_SPEC, "CAP_SYS_RESOURCE"];
      const b = await sb.bundle(uid(), ["grep", "Cap", "/proc/self/status"], (c) => {
        c.process.capabilities = { bounding: want, effective: want, permitted: want, inheritable: want };
      });
      const r = sb.run(["run", "-b", b, uid()], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("CAP_SYS_RESOURCE not granted");
      expect(field(r.stdout, "CapEff") & (1n << 24n)).toBe(0n);
      expect(field(r.stdout, "CapEff") & (1n << 5n)).toBe(1n << 5n);
    });
  }
});
