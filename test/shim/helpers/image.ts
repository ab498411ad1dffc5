/**
 * A busybox image as an OCI image layout archive, built by hand: the host's
 * busybox-static with a symlink per applet, one uncompressed layer (GNU tar),
 * config, manifest and index with a ref name, for `ctr images import`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const IMAGE_REF = 'docker.io/berth/busybox:test';

function blob(dir: string, data: Buffer | string): { digest: string; size: number } {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const hex = createHash('sha256').update(buf).digest('hex');
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', hex), buf);
  return { digest: `sha256:${hex}`, size: buf.length };
}

/** A busybox root filesystem in <work>/<name>: the static binary, a symlink per applet, passwd/group. */
export function buildBusyboxRootfs(work: string, name = 'img-rootfs'): string {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
  if (!busybox) throw new Error('busybox-static is not installed');
  const rootfs = path.join(work, name);
  for (const d of ['bin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  }
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  return rootfs;
}

/** Writes <work>/busybox-oci.tar and returns its path. */
export function buildBusyboxArchive(work: string): string {
  const rootfs = buildBusyboxRootfs(work);
  const layout = path.join(work, 'img-layout');
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  const layerTar = execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', '-', '.'], { maxBuffer: 64 << 20 });
  const layer = blob(layout, layerTar);
  const config = blob(layout, JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  }));
  const manifest = blob(layout, JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  }));
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': IMAGE_REF, 'org.opencontainers.image.ref.name': 'test' },
    }],
  }));
  const archive = path.join(work, 'busybox-oci.tar');
  execFileSync('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}
