/**
 * The content service over gRPC: resumable ingests, verification at commit,
 * one writer per ref, reads with offsets, labels and filters, abort, delete
 * and collection, namespaces required, and a full disk in the middle of an
 * ingest (a small tmpfs) that loses nothing and resumes once space is back.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '../../supervisor/src/client/client';
import { RemoteWriter, readBlob, writeBlob } from '../../supervisor/src/client/content';
import { GrpcCode } from '../../proto/src/errdefs';
import { removeDir, startBerthd, startDaemon, type Daemon } from './support/daemon';
import { run, runOk } from './support/run';

const sha = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const bytes = (n: number) => crypto.randomBytes(n);
async function* once(b: Buffer) {
  yield b;
}

let d: Daemon;
let c: Client;

/** Opens a writer, waiting while the server still holds the ref for a client that just left. */
async function reopen(cl: Client, ref: string, digest: string, size: number): Promise<[RemoteWriter, number]> {
  for (let i = 0; ; i++) {
    const w = new RemoteWriter(cl, ref, digest, size);
    try {
      return [w, await w.stat()];
    } catch (err) {
      if ((err as { kind?: string }).kind !== 'Unavailable' || i > 50) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

beforeAll(async () => {
  d = await startDaemon();
  c = d.client('content-test');
});
afterAll(async () => {
  await d?.stop();
  if (d) removeDir(d.dir);
});

test('an ingest resumes from the offset already written, and commits verified', async () => {
  const data = bytes(3 << 20);
  const digest = sha(data);
  const w1 = new RemoteWriter(c, 'resume-me', digest, data.length);
  expect(await w1.stat()).toBe(0);
  await w1.write(data.subarray(0, 1 << 20));
  await w1.write(data.subarray(1 << 20, 2 << 20));
  await w1.flush(); // both writes answered
  w1.close(); // the client goes away mid-transfer
  const st = await c.call('content', 'Status', { ref: 'resume-me' });
  expect(st.status).toMatchObject({ ref: 'resume-me', offset: 2 << 20, total: data.length });
  expect((await c.call('content', 'ListStatuses', { filters: ['ref~=resume'] })).statuses).toHaveLength(1);

  const [w2, off] = await reopen(c, 'resume-me', digest, data.length);
  expect(off).toBe(2 << 20);
  await w2.write(data.subarray(2 << 20));
  expect(await w2.commit({ 'x.y/z': '1' })).toBe(digest);
  const { info } = await c.call('content', 'Info', { digest });
  expect(info).toMatchObject({ digest, size: data.length, labels: { 'x.y/z': '1' } });
  expect((await readBlob(c, digest)).equals(data)).toBe(true);
  await expect(c.call('content', 'Status', { ref: 'resume-me' })).rejects.toMatchObject({ kind: 'NotFound' });
});

test('commit verifies digest and size; nothing is committed on a mismatch', async () => {
  const data = bytes(1000);
  const wrong = sha(Buffer.from('something else'));
  await expect(writeBlob(c, 'bad-digest', once(data), wrong, data.length)).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringMatching(/unexpected commit digest/) });
  await expect(c.call('content', 'Info', { digest: sha(data) })).rejects.toMatchObject({ kind: 'NotFound' });
  await expect(c.call('content', 'Info', { digest: wrong })).rejects.toMatchObject({ kind: 'NotFound' });
  await expect(writeBlob(c, 'bad-size', once(data), '', 999)).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringMatching(/"bad-size" failed size validation: 1000 != 999/) });
  // the failed ingests stay for a retry or an abort
  await c.call('content', 'Abort', { ref: 'bad-digest' });
  await c.call('content', 'Abort', { ref: 'bad-size' });
  await expect(c.call('content', 'Abort', { ref: 'bad-size' })).rejects.toMatchObject({ kind: 'NotFound' });
});

test('a second writer of the same ref is refused while the first holds it', async () => {
  const w1 = new RemoteWriter(c, 'busy-ref', '', 0);
  await w1.stat();
  const w2 = new RemoteWriter(c, 'busy-ref', '', 0);
  await expect(w2.stat()).rejects.toMatchObject({ kind: 'Unavailable', message: expect.stringMatching(/ref .*busy-ref locked/) });
  await w1.write(Buffer.from('abc'));
  await w1.commit();
});

test('a write away from the current offset is OUT_OF_RANGE; an existing blob is AlreadyExists', async () => {
  const w = new RemoteWriter(c, 'jumpy', '', 0);
  await w.stat();
  await expect(w.writeAt(10, Buffer.from('x'))).rejects.toMatchObject({ cause: expect.objectContaining({ code: GrpcCode.OUT_OF_RANGE }) });
  const data = Buffer.from('already here');
  await writeBlob(c, 'first', once(data), sha(data), data.length);
  const again = new RemoteWriter(c, 'second', sha(data), data.length);
  await expect(again.stat()).rejects.toMatchObject({ kind: 'AlreadyExists' });
  await c.call('content', 'Abort', { ref: 'jumpy' });
});

test('read with offset and size; info, update with a field mask, list with filters', async () => {
  const data = Buffer.from('0123456789abcdefghij');
  const digest = sha(data);
  await writeBlob(c, 'readme', once(data), digest, data.length, { team: 'a', 'gc.thing': 'x' });
  const parts: Buffer[] = [];
  for await (const m of c.stream('content', 'Read', { digest, offset: 5, size: 7 })) parts.push(m.data);
  expect(Buffer.concat(parts).toString()).toBe('56789ab');
  await c.call('content', 'Update', { info: { digest, labels: { team: 'b', other: '1' } }, updateMask: { paths: ['labels.team'] } });
  expect((await c.call('content', 'Info', { digest })).info.labels).toEqual({ team: 'b', 'gc.thing': 'x' });
  await c.call('content', 'Update', { info: { digest, labels: { only: 'this' } }, updateMask: { paths: ['labels'] } });
  expect((await c.call('content', 'Info', { digest })).info.labels).toEqual({ only: 'this' });
  await expect(c.call('content', 'Update', { info: { digest, size: 1 }, updateMask: { paths: ['size'] } })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  const list = async (...filters: string[]) => {
    const out: string[] = [];
    for await (const m of c.stream('content', 'List', { filters })) out.push(...m.info.map((i: { digest: string }) => i.digest));
    return out;
  };
  expect(await list('labels.only==this')).toEqual([digest]);
  expect(await list(`digest==${digest}`)).toEqual([digest]);
  expect(await list('labels.only==that')).toEqual([]);
  await expect(list('labels.only==')).rejects.toMatchObject({ kind: 'InvalidArgument' });
  await expect(c.call('content', 'Info', { digest: 'sha256:abc' })).rejects.toMatchObject({ kind: 'InvalidArgument' });
});

test('delete hides the blob at once; the collector removes the file', async () => {
  const data = bytes(4096);
  const digest = sha(data);
  await writeBlob(c, 'doomed', once(data), digest, data.length);
  const file = path.join(d.root, 'io.containerd.content.v1.content', 'blobs', 'sha256', digest.slice(7));
  expect(fs.existsSync(file)).toBe(true);
  await c.call('content', 'Delete', { digest });
  await expect(c.call('content', 'Info', { digest })).rejects.toMatchObject({ kind: 'NotFound' });
  await expect(c.call('content', 'Delete', { digest })).rejects.toMatchObject({ kind: 'NotFound' });
  for (let i = 0; i < 200 && fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
  expect(fs.existsSync(file)).toBe(false);
});

test('calls need a valid namespace; other namespaces do not see the content', async () => {
  const data = Buffer.from('namespaced');
  await writeBlob(c, 'ns-blob', once(data), sha(data), data.length);
  const none = new Client(d.address, '');
  await expect(none.call('content', 'Info', { digest: sha(data) })).rejects.toMatchObject({ kind: 'FailedPrecondition', message: expect.stringMatching(/namespace is required/) });
  const bad = new Client(d.address, 'bad/ns');
  await expect(bad.call('content', 'Info', { digest: sha(data) })).rejects.toMatchObject({ kind: 'InvalidArgument' });
  const other = new Client(d.address, 'someone-else');
  await expect(other.call('content', 'Info', { digest: sha(data) })).rejects.toMatchObject({ kind: 'NotFound' });
  for (const x of [none, bad, other]) x.close();
});

describe('a full disk during an ingest', () => {
  let dir: string;
  let mnt: string;
  let small: Daemon | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fulldisk-'));
    mnt = path.join(dir, 'mnt');
    fs.mkdirSync(mnt);
    await runOk('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    await small?.stop();
    await run('umount', [mnt]);
    removeDir(dir);
  });

  test('gives ResourceExhausted, keeps committed blobs intact, and resumes after space is freed', async () => {
    small = await startBerthd({ dir: mnt });
    const sc = small.client();
    const kept = bytes(1 << 20);
    await writeBlob(sc, 'kept', once(kept), sha(kept), kept.length);
    const big = bytes(8 << 20);
    const w = new RemoteWriter(sc, 'too-big', sha(big), big.length);
    await w.stat();
    let failed: unknown;
    for (let off = 0; off < big.length && !failed; off += 1 << 20) {
      await w.write(big.subarray(off, off + (1 << 20))).catch((err) => (failed = err));
    }
    expect(failed).toMatchObject({ kind: 'ResourceExhausted', message: expect.stringMatching(/no space left on device/) });
    const st = (await sc.call('content', 'Status', { ref: 'too-big' })).status;
    expect(st.offset % (1 << 20)).toBe(0); // cut back to the last whole write
    expect((await readBlob(sc, sha(kept))).equals(kept)).toBe(true);
    await runOk('mount', ['-o', 'remount,size=24m', mnt]);
    const [w2, off] = await reopen(sc, 'too-big', sha(big), big.length);
    expect(off).toBe(st.offset);
    await w2.write(big.subarray(off));
    expect(await w2.commit()).toBe(sha(big));
    expect((await readBlob(sc, sha(big))).equals(big)).toBe(true);
  });
});
