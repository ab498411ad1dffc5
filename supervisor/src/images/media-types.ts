/** OCI and Docker media types, and how an image's content tree is walked. */
import type { Descriptor } from '../client/content';

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const isIndex = (mt: string) => mt === MediaType.OciIndex || mt === MediaType.DockerManifestList;
export const isManifest = (mt: string) => mt === MediaType.OciManifest || mt === MediaType.DockerManifest;
export const isConfig = (mt: string) => mt === MediaType.OciConfig || mt === MediaType.DockerConfig;
export const isLayer = (mt: string) => /(\.layer\.|rootfs\.diff\.tar)/.test(mt);

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The children of an index or manifest blob, as containerd's images.Children. */
export function children(mediaType: string, body: Buffer): Descriptor[] {
  if (isIndex(mediaType)) return (JSON.parse(body.toString()) as Index).manifests ?? [];
  if (isManifest(mediaType)) {
    const m = JSON.parse(body.toString()) as Manifest;
    return [m.config, ...(m.layers ?? [])];
  }
  return [];
}

/**
 * The GC labels a parent blob gets for its children (images.SetChildrenLabels):
 * an index labels its manifests m.<i>; a manifest its config and layers l.<i>.
 */
export function childrenLabels(mediaType: string, kids: Descriptor[]): Record<string, string> {
  const labels: Record<string, string> = {};
  if (isIndex(mediaType)) kids.forEach((d, i) => (labels[`containerd.io/gc.ref.content.m.${i}`] = d.digest));
  else if (isManifest(mediaType)) {
    kids.forEach((d, i) => {
      if (i === 0) labels['containerd.io/gc.ref.content.config'] = d.digest;
      else labels[`containerd.io/gc.ref.content.l.${i - 1}`] = d.digest;
    });
  }
  return labels;
}

/** The media type of a manifest-ish JSON body when the descriptor does not say. */
export function detectMediaType(body: Buffer): string {
  const j = JSON.parse(body.toString()) as { mediaType?: string; manifests?: unknown; config?: unknown };
  if (j.mediaType) return j.mediaType;
  if (j.manifests) return MediaType.OciIndex;
  if (j.config) return MediaType.OciManifest;
  throw new Error('unknown manifest format');
}
