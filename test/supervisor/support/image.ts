/**
 * Image fixtures made by the tests themselves: a busybox-static rootfs turned
 * into an OCI image layout by umoci, a docker-save archive of it by skopeo,
 * and a two-platform index written here from the same blobs.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runOk } from './run';

export interface Layout {
  /** The OCI layout directory. */
  dir: string;
  tag: string;
  /** The manifest descriptor of `tag` (from index.json). */
  manifest: { mediaType: string; digest: string; size: number };
}

const sha256 = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export function blobFile(dir: string, digest: string): string {
  return path.join(dir, 'blobs', ...digest.split(':'));
}

/** Adds a blob to a layout; returns its descriptor. */
export function addBlob(dir: string, body: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } {
  const digest = sha256(body);
  fs.mkdirSync(path.dirname(blobFile(dir, digest)), { recursive: true });
  fs.writeFileSync(blobFile(dir, digest), body);
  return { mediaType, digest, size: body.length };
}

/**
 * An OCI layout with busybox (static) and, optionally, `extraBytes` of random
 * data in a second layer (so transfers have some size).
 */
export async function makeBusyboxLayout(work: string, opts: { tag?: string; extraBytes?: number } = {}): Promise<Layout> {
  const tag = opts.tag ?? 'latest';
  const dir = path.join(work, 'layout');
  const bundle = path.join(work, 'bundle');
  await runOk('umoci', ['init', '--layout', dir]);
  await runOk('umoci', ['new', '--image', `${dir}:${tag}`]);
  await runOk('umoci', ['unpack', '--image', `${dir}:${tag}`, bundle]);
  const rootfs = path.join(bundle, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.symlinkSync('busybox', path.join(rootfs, 'bin', 'sh'));
  fs.writeFileSync(path.join(rootfs, 'hello.txt'), 'hello from berth\n');
  await runOk('umoci', ['repack', '--image', `${dir}:${tag}`, bundle]);
  if (opts.extraBytes) {
    // a second layer: unpack the image again so that the repack diffs against it
    fs.rmSync(bundle, { recursive: true, force: true });
    await runOk('umoci', ['unpack', '--image', `${dir}:${tag}`, bundle]);
    fs.writeFileSync(path.join(rootfs, 'data.bin'), crypto.randomBytes(opts.extraBytes));
    await runOk('umoci', ['repack', '--image', `${dir}:${tag}`, bundle]);
  }
  fs.rmSync(bundle, { recursive: true, force: true });
  return { dir, tag, manifest: readManifestDesc(dir, tag) };
}

export function readManifestDesc(dir: string, tag: string): Layout['manifest'] {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: Array<Layout['manifest'] & { annotations?: Record<string, string> }> };
  const m = index.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!m) throw new Error(`no ${tag} in ${dir}`);
  return { mediaType: m.mediaType, digest: m.digest, size: m.size };
}

/** Tars a layout directory into an archive (its contents at the top). */
export async function tarLayout(dir: string, out: string): Promise<string> {
  await runOk('tar', ['-C', dir, '-cf', out, '.']);
  return out;
}

/** A docker-save archive of the layout's image, by skopeo. */
export async function dockerArchive(layout: Layout, out: string, name: string): Promise<string> {
  await runOk('skopeo', ['copy', '--quiet', `oci:${layout.dir}:${layout.tag}`, `docker-archive:${out}:${name}`]);
  return out;
}

/**
 * Rewrites the layout so that `tag` names an index of two platforms
 * (linux/amd64 and linux/arm64) sharing the layers; returns the index descriptor.
 */
export function makeMultiPlatform(layout: Layout, tag = 'multi'): Layout['manifest'] {
  const m = JSON.parse(fs.readFileSync(blobFile(layout.dir, layout.manifest.digest), 'utf8'));
  const config = JSON.parse(fs.readFileSync(blobFile(layout.dir, m.config.digest), 'utf8'));
  const armConfig = addBlob(layout.dir, Buffer.from(JSON.stringify({ ...config, architecture: 'arm64' })), m.config.mediaType);
  const armManifest = addBlob(layout.dir, Buffer.from(JSON.stringify({ ...m, config: armConfig })), layout.manifest.mediaType);
  const index = addBlob(
    layout.dir,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { ...layout.manifest, platform: { os: 'linux', architecture: 'amd64' } },
          { ...armManifest, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    ),
    'application/vnd.oci.image.index.v1+json',
  );
  const idxFile = path.join(layout.dir, 'index.json');
  const top = JSON.parse(fs.readFileSync(idxFile, 'utf8'));
  top.manifests.push({ ...index, annotations: { 'org.opencontainers.image.ref.name': tag } });
  fs.writeFileSync(idxFile, JSON.stringify(top));
  return index;
}
