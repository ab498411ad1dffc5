/**
 * The checks of containerd's snapshots/testsuite/issues.go (former bugs of older
 * layering models), each through the flat-directory oracle checkSnapshots.
 */
import * as fst from '../../../../test/support/fs-applier';
import { checkSnapshots } from './helpers';
import type { Check } from './testsuite';

/** docker#21555: a single file updated in an upper layer; 5 runs across second boundaries. */
const checkLayerFileUpdate: Check = async ({ sn, work }) => {
  const l1Init = fst.apply(
    fst.createDir('/etc', 0o700),
    fst.createFile('/etc/hosts', 'mydomain 10.0.0.1', 0o644),
    fst.createFile('/etc/profile', 'PATH=/usr/bin', 0o644),
  );
  const l2Init = fst.apply(
    fst.createFile('/etc/hosts', 'mydomain 10.0.0.2', 0o644),
    fst.createFile('/etc/profile', 'PATH=/usr/bin', 0o666),
    fst.createDir('/root', 0o700),
    fst.createFile('/root/.bashrc', 'PATH=/usr/sbin:/usr/bin', 0o644),
  );
  let sleep = 0;
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, sleep));
    await checkSnapshots(sn, work, l1Init, l2Init);
    sleep = 1000 - (Date.now() % 1000); // until the next second boundary
  }
};

/** docker#25244 */
const checkRemoveDirectoryInLowerLayer: Check = async ({ sn, work }) => {
  await checkSnapshots(
    sn,
    work,
    fst.apply(fst.createDir('/lib', 0o700), fst.createFile('/lib/hidden', '', 0o644)),
    fst.apply(fst.removeAll('/lib'), fst.createDir('/lib', 0o700), fst.createFile('/lib/not-hidden', '', 0o644)),
    fst.apply(fst.createFile('/lib/newfile', '', 0o644)),
  );
};

/** docker#20240, #24913, #28391 */
const checkChown: Check = async ({ sn, work }) => {
  await checkSnapshots(
    sn,
    work,
    fst.apply(
      fst.createDir('/opt', 0o700),
      fst.createDir('/opt/a', 0o700),
      fst.createDir('/opt/a/b', 0o700),
      fst.createFile('/opt/a/b/file.txt', 'hello', 0o644),
    ),
    fst.apply(fst.chown('/opt', 1, 1), fst.chown('/opt/a', 1, 1), fst.chown('/opt/a/b', 1, 1), fst.chown('/opt/a/b/file.txt', 1, 1)),
  );
};

/** docker#25409, without the directory rename (overlayfs without redirect_dir copies it up as EXDEV). */
const checkRename: Check = async ({ sn, work }) => {
  await checkSnapshots(
    sn,
    work,
    fst.apply(
      fst.createDir('/dir1', 0o700),
      fst.createDir('/somefiles', 0o700),
      fst.createFile('/somefiles/f1', 'was here first!', 0o644),
      fst.createFile('/somefiles/f2', 'nothing interesting', 0o644),
    ),
    fst.apply(
      fst.createFile('/somefiles/f1-overwrite', 'new content 1', 0o644),
      fst.rename('/somefiles/f1-overwrite', '/somefiles/f1'),
      fst.rename('/somefiles/f2', '/somefiles/f3'),
    ),
  );
};

/** docker#27298 */
const checkDirectoryPermissionOnCommit: Check = async ({ sn, work }) => {
  await checkSnapshots(
    sn,
    work,
    fst.apply(
      fst.createDir('/dir1', 0o700),
      fst.createDir('/dir2', 0o700),
      fst.createDir('/dir3', 0o700),
      fst.createDir('/dir4', 0o700),
      fst.createFile('/dir4/f1', '...', 0o644),
      fst.createDir('/dir5', 0o700),
      fst.createFile('/dir5/f1', '...', 0o644),
      fst.chown('/dir1', 1, 1),
      fst.chown('/dir2', 1, 1),
      fst.chown('/dir3', 1, 1),
      fst.chown('/dir5', 1, 1),
      fst.chown('/dir5/f1', 1, 1),
    ),
    fst.apply(fst.chown('/dir2', 0, 0), fst.removeAll('/dir3'), fst.chown('/dir4', 1, 1), fst.chown('/dir4/f1', 1, 1)),
    fst.apply(
      fst.createDir('/dir3', 0o700),
      fst.chown('/dir3', 1, 1),
      fst.removeAll('/dir5'),
      fst.createDir('/dir5', 0o700),
      fst.chown('/dir5', 1, 1),
    ),
  );
};

/** Files deleted in a child stay deleted in its descendants. */
const checkDeletedFilesInChildSnapshot: Check = async ({ sn, work }) => {
  await checkSnapshots(
    sn,
    work,
    fst.apply(fst.createFile('/foo', 'foo\n', 0o777), fst.createFile('/foobar', 'foobar\n', 0o777)),
    fst.apply(fst.removeAll('/foobar')),
    fst.apply(),
  );
};

/** Hard link a lower file to a new place, then remove the original. */
const checkFileFromLowerLayer: Check = async ({ sn, work }) => {
  await checkSnapshots(
    sn,
    work,
    fst.apply(
      fst.createDir('/dir1', 0o700),
      fst.createFile('/dir1/f1', 'Hello', 0o644),
      fst.createDir('dir2', 0o700),
      fst.createFile('dir2/f2', '...', 0o644),
    ),
    fst.apply(
      fst.createDir('/dir3', 0o700),
      fst.createFile('/dir3/f1', 'Hello', 0o644),
      fst.removeAll('/dir1'),
      fst.link('dir2/f2', 'dir3/f2'),
      fst.removeAll('dir2/f2'),
    ),
  );
};

export const issueChecks: Array<[string, Check]> = [
  ['LayerFileupdate', checkLayerFileUpdate],
  ['RemoveDirectoryInLowerLayer', checkRemoveDirectoryInLowerLayer],
  ['Chown', checkChown],
  ['DirectoryPermissionOnCommit', checkDirectoryPermissionOnCommit],
  ['DeletedFilesInChildSnapshot', checkDeletedFilesInChildSnapshot],
  ['MoveFileFromLowerLayer', checkFileFromLowerLayer],
  ['Rename', checkRename],
];
