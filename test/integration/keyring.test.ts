// Needs root and a C compiler with a static libc. The session keyring, as runc: create gives
// the init a new one named `_ses.<id>`, searchable so that `exec` can join it by name, and
// `exec` joins it, so no exec'd process holds the caller's (a host keyring) — unless the
// container was created with --no-new-keyring, when both keep the caller's.
// /proc/keys cannot tell which keyring is a process's session keyring (and is masked in
// containers), so a tiny static helper asks keyctl(2) and prints "<serial> <description>".
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot, waitFor } from "../support/harness";

const sb = fileSandbox();
const uid = () => "kr" + Math.random().toString(36).slice(2, 7);

const HELPER_C = `
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  char d[256];
  long id = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
  long n = syscall(SYS_keyctl, 6 /* KEYCTL_DESCRIBE */, -3, d, sizeof d - 1);
  if (id < 0 || n < 0) { perror("keyctl"); return 1; }
  d[n] = 0;
  printf("%lx %s\\n", id, d);
  return 0;
}
`;

/** The helper, built once; undefined where there is no compiler or static libc. */
const helperDir = join(sb.dir, "keyring-helper");
const helperBuilt = (() => {
  if (!isRoot || !Bun.which("cc")) return false;
  mkdirSync(join(helperDir, "out"), { recursive: true }); // the mount point of each container's out directory
  writeFileSync(join(helperDir, "keyring-id.c"), HELPER_C);
  return Bun.spawnSync(["cc", "-static", "-O2", "-o", join(helperDir, "keyring-id"), join(helperDir, "keyring-id.c")]).exitCode === 0;
})();

interface SessionKeyring { serial: string; uid: string; perm: number; description: string }

function parse(line: string): SessionKeyring {
  const m = /^([0-9a-f]+) keyring;(\d+);-?\d+;([0-9a-f]{8});(.*)$/.exec(line.trim());
  if (!m) throw new Error(`unexpected helper output: ${JSON.stringify(line)}`);
  return { serial: m[1]!, uid: m[2]!, perm: parseInt(m[3]!, 16), description: m[4]! };
}

/** This process's own session keyring (the caller's, which must not reach the container). */
const hostKeyring = () => parse(Bun.spawnSync([join(helperDir, "keyring-id")]).stdout.toString());

const KEY_USR_SEARCH = 0x80000, KEY_OTH_SEARCH = 0x8;

/** Who makes the keyring at create: the native init (bunc's thread sets the rootfs up) or the Bun init. */
const SETUPS = [["native init", {}], ["Bun init", { BUNC_HOST_SETUP: "0" }]] as const;

/**
 * A container whose init records its session keyring in <out>/init, then sleeps; the helper
 * is mounted at /mnt (the rootfs stays the shared read-only one).
 */
async function keyringBundle(id: string, edit: (c: any) => void = () => {}) {
  const out = join(sb.dir, `${id}-out`);
  mkdirSync(out, { mode: 0o777 });
  chmodSync(out, 0o777);
  const b = await sb.bundle(id, ["sh", "-c", "/mnt/keyring-id > /mnt/out/init; exec sleep 60"], (c) => {
    c.mounts.push({ destination: "/mnt", type: "bind", source: helperDir, options: ["rbind", "ro"] });
    c.mounts.push({ destination: "/mnt/out", type: "bind", source: out, options: ["rbind", "rw"] });
    edit(c);
  });
  return { b, initKeyring: () => {
    const f = join(out, "init");
    waitFor(() => { try { return readFileSync(f, "utf8").endsWith("\n"); } catch { return false; } }, "the init to record its keyring");
    return parse(readFileSync(f, "utf8"));
  } };
}

function execKeyring(id: string, args: string[] = []): SessionKeyring {
  const r = sb.run(["exec", ...args, id, "/mnt/keyring-id"]);
  if (r.code !== 0) throw new Error(`exec ${id} exited ${r.code}: ${r.stderr}`);
  return parse(r.stdout);
}

describe.skipIf(!isRoot || !helperBuilt)("session keyring (root, as runc)", () => {
  beforeAll(() => {
    // The mapped root of the user-namespace case must reach the helper and its out directory.
    chmodSync(sb.dir, 0o711);
  });

  for (const [what, env] of SETUPS) {
    test(`exec joins the init's _ses.<id>, not the caller's (made by the ${what})`, async () => {
      const id = uid();
      const { b, initKeyring } = await keyringBundle(id);
      sb.ok(["run", "-d", "-b", b, id], { env });
      try {
        const init = initKeyring();
        expect(init.description).toBe(`_ses.${id}`);
        // Searchable by its owner's uid (runc's ModKeyringPerm): what lets exec find it by name.
        expect(init.perm & KEY_USR_SEARCH).toBe(KEY_USR_SEARCH);
        const exec = execKeyring(id);
        expect(exec).toEqual(init);
        expect(exec.serial).not.toBe(hostKeyring().serial);
        // Another user inside joins it too (joined before the user switch, as runc).
        expect(execKeyring(id, ["--user", "1000:1000"]).serial).toBe(init.serial);
      } finally {
        sb.run(["delete", "--force", id]);
      }
    }, 60_000);
  }

  test("--no-new-keyring: the init and exec keep the caller's session keyring (as runc)", async () => {
    const id = uid();
    const { b, initKeyring } = await keyringBundle(id);
    sb.ok(["run", "-d", "--no-new-keyring", "-b", b, id]);
    try {
      const host = hostKeyring();
      expect(initKeyring().serial).toBe(host.serial);
      const exec = execKeyring(id);
      expect(exec.description).not.toBe(`_ses.${id}`);
      expect(exec.serial).toBe(host.serial);
      expect(JSON.parse(readFileSync(join(sb.root, id, "state.json"), "utf8")).noNewKeyring).toBe(true);
    } finally {
      sb.run(["delete", "--force", id]);
    }
  }, 60_000);

  // runc adds only "other" search here, so each runc exec gets a new, empty `_ses.<id>`.
  for (const [what, env] of SETUPS) {
    test(`a user-namespace container: exec joins the init's keyring, searchable by its owner and, as runc, others (made by the ${what})`, async () => {
      const id = uid();
      // The shared rootfs belongs to the host's root, unmapped here: readable as "other".
      const { b, initKeyring } = await keyringBundle(id, (c) => {
        c.linux.namespaces.push({ type: "user" });
        c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      });
      sb.ok(["run", "-d", "-b", b, id], { env });
      try {
        const init = initKeyring();
        expect(init.description).toBe(`_ses.${id}`);
        expect(init.uid).toBe("0");
        expect(init.perm & (KEY_USR_SEARCH | KEY_OTH_SEARCH)).toBe(KEY_USR_SEARCH | KEY_OTH_SEARCH);
        expect(execKeyring(id)).toEqual(init);
        expect(execKeyring(id, ["--user", "1000:1000"]).serial).toBe(init.serial);
      } finally {
        sb.run(["delete", "--force", id]);
      }
    }, 60_000);
  }
});
