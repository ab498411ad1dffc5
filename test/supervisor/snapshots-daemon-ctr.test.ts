/**
 * `ctr snapshots` against berthd for each snapshotter: overlayfs, native and
 * btrfs (root_path on a loop-device btrfs this test makes and removes), with
 * the plugins' skip reasons, snapshot events, and Diff over the wire.
 * BERTH_DAEMON=containerd runs the same against a private containerd.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RemoteDiff } from '../../supervisor/src/client/diff';
import { RemoteSnapshotter } from '../../supervisor/src/client/snapshots';
import { withTempMount } from '../../supervisor/src/mount/mount';
import { detachAllLoopbacks, loopbackSkipReason, mountLoopback, type Loopback } from '../../supervisor/src/snapshots/testsuite/loopback';
import { watchCtrEvents } from '../support/ctr-events';
import { berthctlJs, peerMode, removeDir, startDaemon, type Daemon } from './support/daemon';
import { run, runOk } from './support/run';

const btrfsSkip = loopbackSkipReason(['mkfs.btrfs', 'losetup']) ?? (fs.readFileSync('/proc/filesystems', 'utf8').includes('btrfs') ? undefined : 'no btrfs in /proc/filesystems');
const skip = process.getuid?.() !== 0 ? 'needs root' : undefined;

let work: string;
let d: Daemon;
let btrfs: Loopback | undefined;

const ctr = (...args: string[]) => run('ctr', ['--address', d.address, '--namespace', 'snaps', ...args]);
const ctrOk = (...args: string[]) => runOk('ctr', ['--address', d.address, '--namespace', 'snaps', ...args]);

(skip ? describe.skip : describe)('ctr snapshots against the daemon', () => {
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-snapshots-ctr-'));
    // `ctr snapshots view` takes no lease and sets no gc.root label, so any
    // collection may take the view it made (containerd's as well as berthd's):
    // and each `ctr snapshots prepare` deletes its lease, which asks for one.
    // These tests are about the commands, so collections run only when asked
    // for (the GC tests cover when they run by themselves).
    let extraConfig = '[plugins."io.containerd.gc.v1.scheduler"]\n  deletion_threshold = 1000000\n  mutation_threshold = 0\n  startup_delay = "0s"\n';
    if (!btrfsSkip) {
      btrfs = await mountLoopback(path.join(work, 'btrfs'), 'btrfs', '256M', ['-q']);
      extraConfig += `[plugins."io.containerd.snapshotter.v1.btrfs"]\n  root_path = "${btrfs && path.join(work, 'btrfs')}"\n`;
    }
    d = await startDaemon({ extraConfig });
  });

  afterAll(async () => {
    await d?.stop(); // the btrfs snapshotter's store lives on the loop filesystem: stop first
    await btrfs?.release();
    await detachAllLoopbacks();
    if (work) removeDir(work);
  });

  test('plugins ls: overlayfs and native ok, btrfs ok on its btrfs root_path, devmapper skipped (no pool configured)', async () => {
    const ls = (await runOk('ctr', ['--address', d.address, 'plugins', 'ls'])).stdout;
    expect(ls).toMatch(/io\.containerd\.snapshotter\.v1\s+overlayfs\s+linux\/amd64\s+ok/);
    expect(ls).toMatch(/io\.containerd\.snapshotter\.v1\s+native\s+linux\/amd64\s+ok/);
    expect(ls).toMatch(new RegExp(`io\\.containerd\\.snapshotter\\.v1\\s+btrfs\\s+linux/amd64\\s+${btrfsSkip ? 'skip' : 'ok'}`));
    expect(ls).toMatch(/io\.containerd\.snapshotter\.v1\s+devmapper\s+linux\/amd64\s+(skip|error)/);
    expect(ls).toMatch(/io\.containerd\.grpc\.v1\s+snapshots\s+-\s+ok/);
    expect(ls).toMatch(/io\.containerd\.grpc\.v1\s+diff\s+-\s+ok/);
    if (!peerMode) {
      const detailed = (await runOk('ctr', ['--address', d.address, 'plugins', 'ls', '-d', 'id==devmapper'])).stdout;
      expect(detailed).toMatch(/devmapper not configured \(no pool_name\)/);
    }
  });

  const snapshotters = ['overlayfs', 'native', ...(btrfsSkip ? [] : ['btrfs'])];

  test.each(snapshotters)('prepare, mounts, commit, view, info, label, ls, tree, usage, rm (%s)', async (name) => {
    const s = ['snapshots', '--snapshotter', name];
    await ctrOk(...s, 'prepare', 'base-a', '');
    const mnt = path.join(work, `mnt-${name}`);
    fs.mkdirSync(mnt);
    // ctr prints the mount command; perform it for real and write a layer's worth of files.
    const mountCmd = (await ctrOk(...s, 'mounts', mnt, 'base-a')).stdout.trim();
    expect(mountCmd).toMatch(new RegExp(`^mount -t ${name === 'btrfs' ? 'btrfs' : 'bind'} `));
    await runOk('sh', ['-c', mountCmd]);
    try {
      fs.writeFileSync(path.join(mnt, 'hello'), 'world');
      fs.writeFileSync(path.join(mnt, 'big'), Buffer.alloc(1 << 20, 7));
    } finally {
      await runOk('umount', [mnt]);
    }
    await ctrOk(...s, 'commit', 'base', 'base-a');
    await ctrOk(...s, 'prepare', 'child', 'base');
    await ctrOk(...s, 'view', 'look', 'base');
    expect(JSON.parse((await ctrOk(...s, 'info', 'child')).stdout)).toMatchObject({ Kind: 'Active', Name: 'child', Parent: 'base' });
    expect(JSON.parse((await ctrOk(...s, 'info', 'look')).stdout)).toMatchObject({ Kind: 'View', Name: 'look', Parent: 'base' });
    expect(JSON.parse((await ctrOk(...s, 'info', 'base')).stdout)).toMatchObject({ Kind: 'Committed', Name: 'base' });
    const ls = (await ctrOk(...s, 'ls')).stdout;
    expect(ls).toMatch(/child\s+base\s+Active/);
    expect(ls).toMatch(/look\s+base\s+View/);
    expect(ls).toMatch(/base\s+Committed/);
    expect((await ctrOk(...s, 'tree')).stdout).toMatch(/^ base\n  \\_ (child|look)\n  \\_ (child|look)\n$/);
    await ctrOk(...s, 'label', 'child', 'team=berth');
    expect(JSON.parse((await ctrOk(...s, 'info', 'child')).stdout).Labels).toMatchObject({ team: 'berth' });
    await ctrOk(...s, 'label', 'child', 'team=');
    expect(JSON.parse((await ctrOk(...s, 'info', 'child')).stdout).Labels?.team).toBeUndefined();
    // usage of the committed layer counts its files (sizes are rounded by ctr: 1.0 MiB or more)
    expect((await ctrOk(...s, 'usage', 'base')).stdout).toMatch(/base\s+1\.\d MiB\s+\d+/);
    // the view is read-only, the child writable, both show the base's files
    await withTempMount(await new RemoteSnapshotter(d.client('snaps'), name).mounts('look'), async (root) => {
      expect(fs.readFileSync(path.join(root, 'hello'), 'utf8')).toBe('world');
      expect(() => fs.writeFileSync(path.join(root, 'x'), 'x')).toThrow(/EROFS|read-only/);
    });

    const rmBase = await ctr(...s, 'rm', 'base');
    expect(rmBase.code).not.toBe(0);
    expect(rmBase.stderr).toMatch(/cannot remove snapshot with child|failed precondition/);
    const missing = await ctr(...s, 'info', 'nope');
    expect(missing.stderr).toMatch(/snapshot nope does not exist: not found/);
    await ctrOk(...s, 'rm', 'child', 'look');
    await ctrOk(...s, 'rm', 'base');
    expect((await ctrOk(...s, 'ls')).stdout.trim().split('\n')).toHaveLength(1); // the header only
  });

  test('berthctl snapshots: prepare, commit, view, ls, info, label, usage, mounts, rm', async () => {
    const ctl = (...args: string[]) => run(process.execPath, [berthctlJs, '--address', d.address, '--namespace', 'snaps-ctl', 'snapshots', '--snapshotter', 'native', ...args]);
    const ok = async (...args: string[]) => {
      const r = await ctl(...args);
      if (r.code !== 0) throw new Error(`berthctl snapshots ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await ok('prepare', 'a', '--target', '/mnt');
    await ok('commit', 'base', 'a');
    expect(await ok('view', 'v', 'base', '--target', '/mnt')).toMatch(/^mount -t bind \S+ \/mnt -o (ro,rbind|rbind,ro)\n$/);
    expect(await ok('mounts', '/x', 'v')).toMatch(/^mount -t bind \S+ \/x -o (ro,rbind|rbind,ro)\n$/);
    const ls = JSON.parse(await ok('ls', '--format', 'json')) as Array<{ name: string; kind: string; parent: string; labels: Record<string, string> }>;
    expect(ls.map((i) => [i.name, i.kind, i.parent]).sort()).toEqual([['base', 'committed', ''], ['v', 'view', 'base']]);
    expect(ls[0].labels['containerd.io/gc.root']).toMatch(/^\d{4}-/); // kept from GC, as ctr's
    expect(await ok('label', 'v', 'team=berth')).toMatch(/team=berth/);
    expect(JSON.parse(await ok('info', 'v')).labels.team).toBe('berth');
    expect(await ok('usage', 'base')).toMatch(/base\s+\d/);
    const busy = await ctl('rm', 'base');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/cannot remove snapshot with child|failed precondition/);
    await ok('rm', 'v', 'base');
    expect(JSON.parse(await ok('ls', '--format', 'json'))).toEqual([]);
  });

  test('an unknown snapshotter is InvalidArgument', async () => {
    const r = await ctr('snapshots', '--snapshotter', 'zfs', 'ls');
    expect(r.code).not.toBe(0);
    if (!peerMode) expect(r.stderr).toMatch(/snapshotter not loaded: zfs: invalid argument/);
  });

  test('publishes /snapshot/prepare, /snapshot/commit and /snapshot/remove', async () => {
    const events = await watchCtrEvents(d.address);
    let out = '';
    try {
      await ctrOk('snapshots', 'prepare', 'ev-a', '');
      await ctrOk('snapshots', 'commit', 'ev', 'ev-a');
      await ctrOk('snapshots', 'rm', 'ev');
      for (let i = 0; i < 50 && !events.out().includes('/snapshot/remove'); i++) await new Promise((r) => setTimeout(r, 50));
      out = events.out();
    } finally {
      events.stop();
    }
    expect(out).toMatch(/snaps \/snapshot\/prepare \{"key":"ev-a"\}/);
    expect(out).toMatch(/snaps \/snapshot\/commit \{"key":"ev-a","name":"ev"\}/);
    expect(out).toMatch(/snaps \/snapshot\/remove \{"key":"ev"\}/);
  });

  test('Diff over the wire: the changes of an active snapshot as a layer, applied onto another snapshotter', async () => {
    const c = d.client('snaps');
    const overlay = new RemoteSnapshotter(c, 'overlayfs');
    const native = new RemoteSnapshotter(c, 'native');
    const differ = new RemoteDiff(c);
    const root = { labels: { 'containerd.io/gc.root': 'now' } };
    await withTempMount(await overlay.prepare('d-base-a', '', root), async (dir) => fs.writeFileSync(path.join(dir, 'gone'), 'x'));
    await overlay.commit('d-base', 'd-base-a', root);
    const upper = await overlay.prepare('d-top', 'd-base', root);
    await withTempMount(upper, async (dir) => {
      fs.rmSync(path.join(dir, 'gone'));
      fs.writeFileSync(path.join(dir, 'new'), 'n');
    });
    const layer = await differ.diff(await overlay.view('d-lower', 'd-base', root), upper, { ref: 'diff-over-grpc', labels: { 'containerd.io/gc.root': 'now' } });
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const info = await c.call('content', 'Info', { digest: layer.digest });
    expect(info.info.labels['containerd.io/uncompressed']).toMatch(/^sha256:[0-9a-f]{64}$/);
    // onto native: a base with "gone", then the layer deletes it (whiteout) and adds "new"
    await withTempMount(await native.prepare('n-base-a', '', root), async (dir) => fs.writeFileSync(path.join(dir, 'gone'), 'x'));
    await native.commit('n-base', 'n-base-a', root);
    const applied = await differ.apply(layer, await native.prepare('n-top', 'n-base', root));
    expect(applied.digest).toBe(info.info.labels['containerd.io/uncompressed']);
    await withTempMount(await native.mounts('n-top'), async (dir) => expect(fs.readdirSync(dir).sort()).toEqual(['new']));
    const bad = await differ.apply({ ...layer, mediaType: 'application/x-nope' }, await native.mounts('n-top')).catch((e: unknown) => e);
    // berth: NotImplemented, as containerd's walking differ answers for Compare; containerd's Apply: an unknown error
    expect(String(bad)).toMatch(peerMode ? /no processor for media-type/ : /unsupported diff media type/);
    if (!peerMode) expect(bad).toMatchObject({ kind: 'NotImplemented' });
    // a blob the namespace does not hold is NotFound, even when another namespace has it
    const other = await new RemoteDiff(d.client('other-ns')).apply(layer, await native.mounts('n-top')).catch((e: unknown) => e);
    expect(other).toMatchObject({ kind: 'NotFound' });
    for (const k of ['d-lower', 'd-top', 'd-base']) await overlay.remove(k);
    for (const k of ['n-top', 'n-base']) await native.remove(k);
    await c.call('content', 'Delete', { digest: layer.digest });
  });
});
