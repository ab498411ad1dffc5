/**
 * Test images made from nothing but Debian's busybox-static: a one-layer OCI
 * image layout (and its tar archive), with the name containerd's `ctr images
 * import` reads from the io.containerd.image.name annotation.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBusyboxRootfs } from './bundle';
import { track } from './cleanup';

export interface TestImage {
  /** The OCI image layout directory. */
  layout: string;
  /** The same layout as a tar archive (what `ctr images import` takes). */
  archive: string;
  name: string;
  manifestDigest: string;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function writeBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const hex = sha256(data);
  fs.writeFileSync(path.join(layout, 'blobs/sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

export function makeBusyboxImage(name = 'docker.io/library/busybox-berth:latest', cmd: string[] = ['sh']): TestImage {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-image-'));
  track.dir(work);
  const rootfs = path.join(work, 'rootfs');
  makeBusyboxRootfs(rootfs);
  const layout = path.join(work, 'layout');
  fs.mkdirSync(path.join(layout, 'blobs/sha256'), { recursive: true });

  const tar = execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=2020-01-01', '-C', rootfs, '-cf', '-', '.'], {
    maxBuffer: 64 << 20,
  });
  const gz = execFileSync('gzip', ['-n', '-c'], { input: tar, maxBuffer: 64 << 20 });
  const layer = writeBlob(layout, gz);
  const config = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd, WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
        history: [{ created: '2020-01-01T00:00:00Z', created_by: 'berth test image' }],
      }),
    ),
  );
  const manifest = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    ),
  );
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.split(':').pop() },
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    }),
  );
  const archive = path.join(work, 'image.tar');
  execFileSync('tar', ['-C', layout, '-cf', archive, '.']);
  return { layout, archive, name, manifestDigest: manifest.digest };
}
