/**
 * A mount as data (containerd.types.Mount, proto/types/mount.proto): what a
 * snapshotter returns and what a shim, the diff service or a test performs.
 */
export interface Mount {
  /** Filesystem type: "overlay", "bind", "btrfs", "ext4", ... */
  type: string;
  /** The device, directory or name the mount comes from. */
  source: string;
  /** Where it goes below the rootfs; empty for a rootfs mount. */
  target?: string;
  /** fstab-style options: "ro", "rbind", "lowerdir=...". */
  options: string[];
}
