/**
 * Layer media types and their compression (containerd images.DiffCompression,
 * archive/compression). gzip uses Node's zlib; zstd the `zstd` CLI (Debian
 * package zstd): Node 20 has no zstd in zlib, and the npm bindings are either
 * native addons or WebAssembly decoders without streaming compression.
 */
import { spawn } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { InvalidArgumentError, NotImplementedError } from '../../../proto/src/errdefs';

export type Compression = 'none' | 'gzip' | 'zstd';

export const MediaTypes = {
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** The compression of a layer media type; NotImplemented for what is not a layer we can apply. */
export function diffCompression(mediaType: string): Compression {
  const base = mediaType.split(';')[0].trim();
  switch (base) {
    case MediaTypes.layer:
    case MediaTypes.dockerLayer:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar':
      return 'none';
    case MediaTypes.layerGzip:
    case MediaTypes.dockerLayerGzip:
    case MediaTypes.dockerForeignGzip:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip':
      return 'gzip';
    case MediaTypes.layerZstd:
    case 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd':
      return 'zstd';
  }
  throw new NotImplementedError(`unsupported diff media type: ${JSON.stringify(mediaType)}`);
}

/** The media type of a layer with this compression (OCI types, as containerd's default). */
export function layerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaTypes.layerGzip : c === 'zstd' ? MediaTypes.layerZstd : MediaTypes.layer;
}

/** Runs `zstd` as a stream filter; its stderr ends up in the error. */
function zstdFilter(args: string[], input: Readable): Readable {
  const child = spawn('zstd', [...args, '-q', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  input.on('error', (err) => {
    child.kill();
    out.destroy(err);
  });
  child.stdin.on('error', () => undefined); // EPIPE when zstd fails first; its exit status tells
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  let exited = false;
  let ended = false;
  let code: number | null = null;
  const finish = (): void => {
    if (!exited || !ended) return;
    if (code === 0) out.end();
    else out.destroy(new InvalidArgumentError(`zstd failed: ${stderr.trim() || `exit status ${code}`}`));
  };
  child.stdout.on('end', () => {
    ended = true;
    finish();
  });
  child.on('exit', (c) => {
    exited = true;
    code = c;
    finish();
  });
  child.on('error', (err) => out.destroy(err));
  out.on('close', () => {
    if (!exited) child.kill();
  });
  return out;
}

/**
 * zlib's output chunk: 256 KiB instead of Node's 16 KiB. Each chunk is a trip
 * to the thread pool and a 'data' event; gunzip + sha256 of a 32 MiB layer
 * took 222 ms with 16 KiB chunks and 109 ms with these (zcat | sha256sum: 157;
 * timed by hand, not in bench/ — bench/supervisor shows the effect on import).
 */
const ZLIB_CHUNK = 256 << 10;

/** A decompressed view of input. */
export function decompress(input: Readable, c: Compression): Readable {
  if (c === 'none') return input;
  if (c === 'zstd') return zstdFilter(['-d'], input);
  const gunzip = zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
  input.on('error', (err) => gunzip.destroy(err));
  return input.pipe(gunzip);
}

/** A compressed view of input. */
export function compress(input: Readable, c: Compression): Readable {
  if (c === 'none') return input;
  if (c === 'zstd') return zstdFilter(['-3'], input);
  const gzip = zlib.createGzip({ chunkSize: ZLIB_CHUNK });
  input.on('error', (err) => gzip.destroy(err));
  return input.pipe(gzip);
}

/** Wraps decompression errors (truncated gzip, bad zstd frame) as InvalidArgument. */
export function asLayerError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new InvalidArgumentError(`failed to decompress layer: ${(err as Error).message}`, { cause: err });
  }
  return err;
}
