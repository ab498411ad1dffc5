/**
 * Copies a tree keeping everything a layer holds: ownership, modes, times,
 * xattrs, device nodes, fifos, symlinks and hard links within the copy.
 *
 * GNU `cp -a --reflink=auto` does all of it (and shares extents on btrfs/xfs);
 * Node's fs.cp keeps neither owners, xattrs nor device nodes, and no npm
 * library does xattrs without a native addon.
 */
import { run } from './exec';

/** Copies the contents of src into the existing directory dst (containerd fs.CopyDir). */
export async function copyDir(src: string, dst: string): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', '--no-target-directory', '--', `${src}/.`, dst]);
}
