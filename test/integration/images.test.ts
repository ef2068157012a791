// Needs root, podman and skopeo. Real images made here, offline: the Alpine minirootfs
// imported into a private podman store, two layers built on it (files added, changed and
// deleted, a directory replaced: whiteouts and opaque directories, a hard link, a FIFO,
// owners and setuid), saved as an OCI archive, a docker archive and an OCI directory, and
// copied by skopeo to an OCI layout with zstd layers; one more layer made here adds xattrs,
// a device node and whiteouts of its own. bunc's tree of each must equal the one podman
// mounts for the same image; the config decides the command as docker does; broken or
// hostile images fail in one line and leave nothing in the cache.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileSandbox, isRoot, mountsUnder } from "../support/harness";
import { Podman } from "../support/engines";
import { Layout, sha256 } from "../support/oci";
import { treeDiff, treeLines } from "../support/tree";
import { pack, type Entry } from "../support/tar";
import { openImage, prepareImage, flattenImage, resolveImage } from "../../src/image";

const missing = ["podman", "skopeo"].filter((b) => !Bun.which(b));
const skipReason = !isRoot ? "not root" : missing.length ? `${missing.join(", ")} not installed (apt-get install -y ${missing.join(" ")})` : undefined;
if (skipReason) console.log(`images.test.ts skipped: ${skipReason}`);

const CONTAINERFILE = `FROM localhost/alpine:3.20
RUN mkdir -p /data/sub /opq && echo one > /data/a && echo keep > /data/sub/k && ln -s a /data/link \\
 && echo x > /opq/x && echo y > /opq/y && chown 123:45 /data/a && chmod 4755 /data/a && ln /data/a /data/hard \\
 && mkfifo /data/fifo && adduser -D -u 1234 tester
RUN echo two > /data/a && rm /etc/motd && rm -rf /opq && mkdir /opq && echo z > /opq/z \\
 && rm -rf /data/sub && echo f > /data/sub && rm -rf /usr/share/apk && mkdir -p /usr/share/apk/new
ENV FOO=bar
WORKDIR /data
USER tester
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hello from $FOO as $(id -un) in $(pwd)"]
`;

describe.skipIf(!!skipReason)("images (root, podman, skopeo)", () => {
  const sb = fileSandbox();
  const dir = join(sb.dir, "images");
  const cache = join(sb.dir, "cache");
  let podman: Podman;
  const img = {
    ociArchive: join(dir, "oci.tar"), dockerArchive: join(dir, "docker.tar"), ociDir: join(dir, "oci-dir"),
    layout: join(dir, "layout"), crafted: join(dir, "crafted"),
  };

  beforeAll(() => {
    mkdirSync(join(dir, "ctx"), { recursive: true });
    podman = new Podman();
    podman.importAlpine();
    writeFileSync(join(dir, "ctx/Containerfile"), CONTAINERFILE);
    podman.ok(["build", "--network", "none", "--cgroup-parent", podman.cgroupParent, "-t", "localhost/layered:v1", join(dir, "ctx")], { timeout: 180_000 });
    podman.ok(["save", "--format", "oci-archive", "-o", img.ociArchive, "localhost/layered:v1"]);
    podman.ok(["save", "--format", "docker-archive", "-o", img.dockerArchive, "localhost/layered:v1"]);
    podman.ok(["save", "--format", "oci-dir", "-o", img.ociDir, "localhost/layered:v1"]);
    // skopeo: zstd layers, and a second image (the base) under another tag in the same layout.
    skopeo(["copy", "--dest-compress-format", "zstd", `oci-archive:${img.ociArchive}`, `oci:${img.layout}:v1`]);
    podman.ok(["save", "--format", "oci-archive", "-o", join(dir, "base.tar"), podman.image]);
    skopeo(["copy", `oci-archive:${join(dir, "base.tar")}`, `oci:${img.layout}:base`]);
  }, 300_000);

  afterAll(() => {
    podman?.cleanup();
  });

  function skopeo(args: string[]) {
    const p = Bun.spawnSync(["skopeo", "--insecure-policy", ...args], { stderr: "pipe", stdout: "pipe" });
    if (p.exitCode !== 0) throw new Error(`skopeo ${args.join(" ")}: ${p.stderr.toString()}`);
  }

  /** podman's tree of `ref` (podman image mount of its store). */
  function podmanTree(ref: string, o?: Parameters<typeof treeLines>[1]): string[] {
    const path = podman.ok(["image", "mount", ref]).trim();
    try {
      return treeLines(path, o);
    } finally {
      podman.podman(["image", "unmount", ref]);
    }
  }

  /** bunc's tree of `source`: the overlay a run gets, from the cache in `cacheDir`. */
  async function buncTree(source: string, cacheDir = cache): Promise<string[]> {
    const scratch = join(sb.dir, `view-${Math.random().toString(16).slice(2)}`);
    const { splitImageRef } = await import("../../src/image");
    const ref = splitImageRef(source);
    const p = await prepareImage(openImage(ref.path)!, { tag: ref.tag, scratch, cache: cacheDir, source });
    try {
      return treeLines(p.rootfs);
    } finally {
      p.undo();
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  function expectSameTree(ours: string[], theirs: string[]) {
    expect(theirs.length).toBeGreaterThan(400);
    expect(treeDiff(ours, theirs)).toEqual({ onlyA: [], onlyB: [] });
  }

  test("every form of the image gives podman's tree (whiteouts, opaque dirs, links, owners, modes)", async () => {
    const theirs = podmanTree("localhost/layered:v1");
    // What the build did is in it (so that equal trees mean something).
    expect(theirs.some((l) => l.startsWith("opq/z\t"))).toBe(true);
    expect(theirs.some((l) => l.startsWith("opq/x\t") || l.startsWith("etc/motd\t") || l.startsWith("data/sub/"))).toBe(false);
    expect(theirs.find((l) => l.startsWith("data/a\t"))).toMatch(/^data\/a\tf\t4755\t123:45\t/);
    for (const source of [img.ociArchive, img.dockerArchive, img.ociDir, `${img.layout}:v1`]) {
      expectSameTree(await buncTree(source), theirs);
    }
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 120_000);

  test("layers are cached once by diff_id and shared between images and forms", () => {
    const layers = readdirSync(join(cache, "layers")).filter((n) => /^[0-9a-f]{64}$/.test(n));
    // three layers (base + two RUNs), whatever the form or compression they came in
    expect(layers.sort()).toEqual(resolveImage(openImage(img.ociDir)!).layers.map((l) => l.diffId.slice(7)).sort());
    expect(readdirSync(join(cache, "layers")).filter((n) => n.startsWith(".tmp"))).toEqual([]);
    const ls = sb.ok(["cache", "ls"], { env: { BUNC_CACHE_DIR: cache } });
    expect(ls).toContain("localhost/layered:v1");
    expect(ls).toMatch(/IMAGE +LAYERS/);
  });

  test("the flattened tree (runs without the cache) equals podman's too", async () => {
    const theirs = podmanTree("localhost/layered:v1", { linkCount: false });
    for (const source of [img.ociArchive, img.dockerArchive]) {
      const target = join(sb.dir, "flat");
      const files = openImage(source)!;
      try {
        await flattenImage(files, resolveImage(files), target);
        expectSameTree(treeLines(target, { linkCount: false }), theirs);
      } finally {
        files.close();
        rmSync(target, { recursive: true, force: true });
      }
    }
  }, 120_000);

  test("a layer made here with xattrs, a device, a hard link and whiteouts: podman's tree", async () => {
    const l = Layout.copy(img.ociDir, img.crafted);
    const m = new Date("2024-01-02T03:04:05Z");
    l.addLayer(await pack([
      [{ name: "data", type: "directory", mode: 0o750, uid: 1234, gid: 1234, mtime: m }],
      [{ name: "data/.wh..wh..opq", mode: 0o644, mtime: m }],
      [{ name: "data/x", mode: 0o640, uid: 7, gid: 8, mtime: m, pax: { "SCHILY.xattr.user.bunc": "v1", "SCHILY.xattr.trusted.bunc": "v2" } }, "attrs\n"],
      // As image tools write them: a hard link's header repeats its target's attributes (podman applies them, GNU tar not).
      [{ name: "data/x-link", type: "link", linkname: "data/x", mode: 0o640, uid: 7, gid: 8, mtime: m }],
      [{ name: "etc", type: "directory", mode: 0o755, mtime: m }],
      [{ name: "etc/.wh.issue", mode: 0o644, mtime: m }],
      [{ name: "dev", type: "directory", mode: 0o755, mtime: m }],
      [{ name: "dev/bunc-null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666, mtime: m }],
    ]));
    const index = l.index();
    index.manifests[0].annotations = { "org.opencontainers.image.ref.name": "crafted" };
    writeFileSync(join(img.crafted, "index.json"), JSON.stringify(index));
    const archive = join(dir, "crafted.tar");
    const tar = Bun.spawnSync(["tar", "-C", img.crafted, "-cf", archive, "oci-layout", "index.json", "blobs"]);
    expect(tar.exitCode).toBe(0);
    podman.ok(["load", "-i", archive]);
    const theirs = podmanTree("localhost/crafted:latest");
    expect(theirs).toContain("data/x user.bunc 7631");
    expect(theirs.some((l) => l.startsWith("data/a\t") || l.startsWith("etc/issue\t"))).toBe(false);
    expectSameTree(await buncTree(img.crafted), theirs);
  }, 120_000);

  test("a layer hard-linking files of lower layers (as apt upgrades and re-linked /usr/bin do): the tree below with the links, cached and flattened", async () => {
    // podman 4.3 cannot load such a layer (its overlay driver links inside the layer's own
    // directory): the reference is podman's tree of the image below, with the new names.
    const below = podmanTree("localhost/layered:v1", { linkCount: false });
    const fields = (p: string) => below.find((x) => x.startsWith(`${p}\t`))!.split("\t");
    const renamed = (from: string, to: string) => [
      [to, ...fields(from).slice(1)].join("\t"),
      ...below.filter((x) => x.startsWith(`${from} `)).map((x) => `${to}${x.slice(from.length)}`),
    ];
    // A real diff holds the parent directories of what it adds, with the attributes they have.
    const dirOf = (p: string): Entry => {
      const [, , mode, owner, mtime] = fields(p);
      const [uid, gid] = owner!.split(":").map(Number);
      return [{ name: p, type: "directory", mode: parseInt(mode!, 8), uid, gid, mtime: new Date(Number(mtime) * 1000), pax: { mtime: mtime! } }];
    };
    // As image tools write them, a hard link's header repeats its target's attributes.
    const link = (name: string, target: string, file = target): Entry => {
      const [, , mode, owner, mtime] = fields(file);
      const [uid, gid] = owner!.split(":").map(Number);
      return [{ name, type: "link", linkname: target, mode: parseInt(mode!, 8), uid, gid, mtime: new Date(Number(mtime) * 1000) }];
    };
    const linked = join(dir, "linked");
    const l = Layout.copy(img.ociDir, linked);
    l.addLayer(await pack([
      dirOf("usr"), dirOf("usr/bin"), dirOf("data"), dirOf("etc"),
      // busybox is in the base layer, data/a in the top RUN's: neither is in this layer.
      link("usr/bin/bunc-box", "bin/busybox"),
      link("data/a-again", "data/a"),
      link("data/a-third", "data/a-again", "data/a"), // a link to a link of this layer to a lower file
      // the lower file a link names is replaced by this layer afterwards: the link keeps the old one
      link("etc/bunc-hosts", "etc/hosts"),
      [{ name: "etc/hosts", mode: 0o600, uid: 0, gid: 0, mtime: new Date("2024-01-02T03:04:05Z") }, "replaced\n"],
    ]));
    const hostsHash = new Bun.CryptoHasher("sha256").update("replaced\n").digest("hex");
    const expected = [
      ...below.filter((x) => !x.startsWith("etc/hosts\t")),
      ...renamed("bin/busybox", "usr/bin/bunc-box"), ...renamed("data/a", "data/a-again"), ...renamed("data/a", "data/a-third"),
      ...renamed("etc/hosts", "etc/bunc-hosts"),
      `etc/hosts\tf\t600\t0:0\t1704164645.0000000000\t9\t\t-\t${hostsHash}`,
    ].sort();
    expect(expected.find((x) => x.startsWith("data/a-third\t"))).toMatch(/^data\/a-third\tf\t4755\t123:45\t/);
    // A cache of its own: the layers below are unpacked in the same run as the linking one.
    const cached = await buncTree(linked, join(sb.dir, "cache-linked"));
    const noLinkCount = (lines: string[]) => lines.map((x) => x.replace(/^((?:[^\t]*\t){7})[^\t]*/, "$1-"));
    expectSameTree(noLinkCount(cached), expected);
    // the names share one inode: busybox's copy in the new layer and its link, data/a and its two
    const nlink = (p: string) => cached.find((x) => x.startsWith(`${p}\t`))!.split("\t")[7];
    expect(["bin/busybox", "usr/bin/bunc-box", "data/a", "data/a-third", "etc/bunc-hosts", "etc/hosts"].map(nlink)).toEqual(["2", "2", "3", "3", "1", "1"]);
    // The layers below cached already (by the other tests or the line above): the same tree.
    expect(await buncTree(linked)).toEqual(cached);
    // The flattened tree (every layer onto one directory, as GNU tar would) has the same links.
    const flat = join(sb.dir, "flat-linked");
    const files = openImage(linked)!;
    try {
      await flattenImage(files, resolveImage(files), flat);
      expectSameTree(treeLines(flat, { linkCount: false }), expected);
    } finally {
      files.close();
      rmSync(flat, { recursive: true, force: true });
    }
    expect(mountsUnder(sb.dir)).toEqual([]);
  }, 120_000);

  test("the config decides the command, environment, directory and user; -- and -e/-w/-u override", () => {
    const env = { BUNC_CACHE_DIR: cache };
    const plain = sb.run(["run", "--image", img.ociArchive], { env });
    expect(plain.stderr).toBe("");
    expect(plain.stdout).toBe("hello from bar as tester in /data\n");
    const cmd = sb.run(["run", "--image", img.dockerArchive, "--", "echo $FOO $(id -u) $(pwd); echo $PATH"], { env });
    expect(cmd.stdout).toBe("bar 1234 /data\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    const over = sb.run(["run", "--image", `${img.layout}:v1`, "-e", "FOO=baz", "-w", "/", "-u", "0", "--", "echo $FOO $(id -u) $(pwd)"], { env });
    expect(over.stdout).toBe("baz 0 /\n");
  }, 60_000);

  test("library run({ image }) takes a tag and the image's command", async () => {
    const { run } = await import("../../src/index");
    const r = await run({ image: `${img.layout}:v1`, root: sb.root });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("hello from bar as tester in /data\n");
  }, 60_000);

  test("useContainer: a test's container from an image, exec'd in as the image's user", async () => {
    const { useContainer } = await import("../../src/index");
    const box = await useContainer({ image: img.dockerArchive, root: sb.root });
    const r = await box.exec(["sh", "-c", "id -un; pwd; cat /data/a"]);
    expect(r.stdout).toBe("tester\n/data\ntwo\n");
  }, 60_000);

  test("several images in one layout: a tag picks one; without one or with an unknown one, one line naming the tags", () => {
    const env = { BUNC_CACHE_DIR: cache };
    const base = sb.run(["run", "--image", `${img.layout}:base`, "--", "cat", "/etc/alpine-release"], { env });
    expect(base.stderr).toBe("");
    expect(base.stdout).toMatch(/^3\.\d+\.\d+\n$/);
    const none = sb.run(["run", "--image", img.layout, "--", "true"], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^bunc: .*holds 2 images \(tags: .*v1.*base|base.*v1.*\); name one as .*:TAG\n$/);
    const unknown = sb.run(["run", "--image", `${img.layout}:nope`, "--", "true"], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stderr).toContain("no image tagged nope");
  }, 60_000);

  describe("broken and hostile images: one line, exit 1, nothing in the cache", () => {
    let n = 0;
    /** Runs `source` with a cache of its own, which must stay empty. */
    function refused(source: string, message: RegExp) {
      const own = join(sb.dir, `hostile-cache-${++n}`);
      const r = sb.run(["run", "--image", source, "--", "true"], { env: { BUNC_CACHE_DIR: own } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      const left = existsSync(own) ? readdirSync(own).flatMap((d) => readdirSync(join(own, d)).map((e) => `${d}/${e}`)) : [];
      expect(left).toEqual([]);
      expect(mountsUnder(sb.dir)).toEqual([]);
    }
    const copy = (name: string) => Layout.copy(img.ociDir, join(dir, name));

    test("a layer blob changed after the fact", () => {
      const l = copy("bad-digest");
      const top = l.manifest().manifest.layers.at(-1);
      const b = readFileSync(l.blobPath(top.digest));
      b[b.length - 1] ^= 1;
      writeFileSync(l.blobPath(top.digest), b);
      refused(l.dir, /layer 3 sha256:[0-9a-f]{12}… does not match its digest/);
    });

    test("a layer whose content is not its config's diff_id", async () => {
      const l = copy("bad-diffid");
      const { manifest, config } = l.manifest();
      const tar = await pack([[{ name: "f", mode: 0o644 }, "x"]]);
      const b = l.putBlob(tar);
      manifest.layers.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...b });
      config.rootfs.diff_ids.push(sha256("something else"));
      l.write(manifest, config);
      refused(l.dir, /layer 4: its content hashes to sha256:[0-9a-f]{12}…, the config's diff_id is/);
    });

    test("a missing blob", () => {
      const l = copy("missing");
      l.removeBlob(l.manifest().manifest.layers[1].digest);
      refused(l.dir, /missing: layer 2 sha256:[0-9a-f]{64} is missing/);
    });

    test("a layer leaving the root with ../ (and after every good layer: the good ones are not kept either)", async () => {
      const l = copy("escape");
      l.addLayer(await pack([[{ name: "ok", mode: 0o644 }, "fine"], [{ name: "../../escaped-by-bunc-test", mode: 0o644 }, "out"]]));
      refused(l.dir, /layer 4 .*member \.\.\/\.\.\/escaped-by-bunc-test leaves the root/);
      expect(existsSync(join(sb.dir, "escaped-by-bunc-test"))).toBe(false);
    });

    test("a hard link to a file no layer has", async () => {
      const l = copy("dangling-link");
      l.addLayer(await pack([[{ name: "etc", type: "directory", mode: 0o755 }], [{ name: "etc/bunc-nowhere", type: "link", linkname: "etc/no-such-file", mode: 0o644 }]]));
      refused(l.dir, /layer 4 .*hard link etc\/bunc-nowhere -> etc\/no-such-file: no such file in this layer or the layers below$/m);
    }, 60_000);

    test("a manifest for another architecture only", () => {
      const l = copy("arm-only");
      const { manifest, config } = l.manifest();
      l.write(manifest, { ...config, architecture: "arm64" }, { platform: { architecture: "arm64", os: "linux" } });
      refused(l.dir, /has no manifest for linux\/amd64 \(it has linux\/arm64\)|is for linux\/arm64 only/);
      // The same without a platform in the index: the config says it.
      const m = copy("arm-config");
      m.write(m.manifest().manifest, { ...m.manifest().config, architecture: "arm64" });
      refused(m.dir, /is for linux\/arm64 only, this machine is linux\/amd64/);
    });

    test("a compressed docker archive is named as such, not run as a rootfs tarball", () => {
      const t = join(dir, "docker.tar.gz");
      writeFileSync(t, Bun.gzipSync(readFileSync(img.dockerArchive)));
      refused(t, /docker\.tar\.gz: a compressed image archive; give it uncompressed/);
    });

    test("a docker archive whose layer file is not what its config says", () => {
      const t = join(dir, "docker-bad.tar");
      cpSync(img.dockerArchive, t);
      const b = readFileSync(t);
      // flip one byte inside the first layer's data (after the archive's first header)
      b[512 * 4] ^= 0xff;
      writeFileSync(t, b);
      refused(t, /docker-bad\.tar: (layer 1: its content hashes to|.*corrupt)/);
    });
  });
});
