/**
 * berthd killed (SIGKILL) in the middle of work: on restart the root lock is
 * taken over, committed content and images are intact, and the partial
 * ingest resumes from where it stopped.
 */
import * as crypto from 'node:crypto';
import { RemoteWriter, readBlob, writeBlob } from '../../supervisor/src/client/content';
import { removeDir, startBerthd, type Daemon } from './support/daemon';

const sha = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

let d: Daemon;
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

test('a killed daemon restarts with its content, images and partial ingests', async () => {
  d = await startBerthd();
  let c = d.client('crash');
  const kept = crypto.randomBytes(1 << 20);
  await writeBlob(c, 'kept', (async function* () { yield kept; })(), sha(kept), kept.length);
  await c.call('images', 'Create', { image: { name: 'crash/img:1', target: { mediaType: 'application/octet-stream', digest: sha(kept), size: kept.length } } });
  const big = crypto.randomBytes(6 << 20);
  const w = new RemoteWriter(c, 'interrupted', sha(big), big.length);
  await w.stat();
  await w.write(big.subarray(0, 2 << 20));
  await w.write(big.subarray(2 << 20, 3 << 20));
  await w.flush();
  expect(await d.stop('SIGKILL')).toBe(null);

  d = await startBerthd({ dir: d.dir });
  c = d.client('crash');
  expect((await readBlob(c, sha(kept))).equals(kept)).toBe(true);
  expect((await c.call('images', 'Get', { name: 'crash/img:1' })).image.target.digest).toBe(sha(kept));
  const w2 = new RemoteWriter(c, 'interrupted', sha(big), big.length);
  expect(await w2.stat()).toBe(3 << 20);
  await w2.write(big.subarray(3 << 20));
  expect(await w2.commit()).toBe(sha(big));
  expect((await readBlob(c, sha(big))).equals(big)).toBe(true);
});
