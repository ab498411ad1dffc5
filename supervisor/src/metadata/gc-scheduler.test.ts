/**
 * When collections run (containerd's gc/scheduler semantics), on a real
 * metadata store: images created and deleted make the write transactions and
 * deletions; the real collector runs, counted (and, for the pause threshold,
 * made slower) by a thin wrapper.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStore } from '../content/local-store';
import { nullLogger } from '../daemon/logging';
import { MetadataDB } from './db';
import { GarbageCollector, GCScheduler, type GCSchedulerConfig, type GCStats } from './gc';
import { ImageStore } from './images';
import { schedulerConfig } from './plugin';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let db: MetadataDB;
let images: ImageStore;
let collector: { runs: number[]; extraMs: number; collect(): Promise<GCStats> };
const schedulers: GCScheduler[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-gc-sched-'));
  db = new MetadataDB(path.join(dir, 'meta'));
  images = new ImageStore(db);
  const real = new GarbageCollector(db, new LocalStore(path.join(dir, 'content')), nullLogger());
  collector = {
    runs: [],
    extraMs: 0,
    async collect() {
      this.runs.push(Date.now());
      if (this.extraMs) await sleep(this.extraMs);
      const stats = await real.collect();
      return { ...stats, metaMs: stats.metaMs + this.extraMs }; // as if its metadata part took that long
    },
  };
});

afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function scheduler(cfg: Partial<GCSchedulerConfig>): GCScheduler {
  const s = new GCScheduler(collector, db, cfg, nullLogger());
  schedulers.push(s);
  return s;
}

let n = 0;
const image = () => {
  const name = `img-${n++}`;
  images.create('ns', { name, labels: {}, target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 } } as never);
  return name;
};

/** Waits until the collector has run `count` times (or fails after `ms`). */
async function runs(count: number, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (collector.runs.length < count) {
    if (Date.now() > end) throw new Error(`${collector.runs.length} collections, want ${count}`);
    await sleep(5);
  }
}

test('a first collection startup_delay after start', async () => {
  scheduler({ startupDelayMs: 50 });
  await sleep(20);
  expect(collector.runs).toHaveLength(0);
  await runs(1);
});

test('with startup_delay 0 and nothing deleted, no collection at all', async () => {
  scheduler({ startupDelayMs: 0 });
  image();
  await sleep(150);
  expect(collector.runs).toHaveLength(0);
});

test('a deletion is collected at once when no collection is scheduled; creations alone are not', async () => {
  scheduler({ startupDelayMs: 0 });
  image();
  image();
  await sleep(100);
  expect(collector.runs).toHaveLength(0);
  const t = Date.now();
  images.delete('ns', image());
  await runs(1);
  expect(collector.runs[0] - t).toBeLessThan(100); // not after berthd's old fixed 100 ms (a timer of 0 here)
  expect(db.dirty).toBe(0); // the collection's transaction took the deletion
});

test('schedule_delay puts off the collection a deletion asks for', async () => {
  scheduler({ startupDelayMs: 0, scheduleDelayMs: 200 });
  const t = Date.now();
  images.delete('ns', image());
  await sleep(100);
  expect(collector.runs).toHaveLength(0);
  await runs(1);
  expect(collector.runs[0] - t).toBeGreaterThanOrEqual(195);
});

test('pause_threshold spaces collections: deletions wait for the interval, then are collected together', async () => {
  collector.extraMs = 40; // a collection of ~40 ms at 0.2 → 160 ms between collections
  scheduler({ startupDelayMs: 0, pauseThreshold: 0.2 });
  images.delete('ns', image());
  await runs(1);
  await sleep(60); // the first collection is over
  images.delete('ns', image());
  images.delete('ns', image());
  await runs(2);
  const gap = collector.runs[1] - collector.runs[0];
  expect(gap).toBeGreaterThanOrEqual(40 + 150); // its duration, then the interval
  await sleep(400);
  expect(collector.runs).toHaveLength(2); // both deletions went in one collection, and nothing since
});

test('deletion_threshold collects at once even when a collection is scheduled later', async () => {
  collector.extraMs = 50; // interval 50/0.02 − 50 = 2.45 s
  scheduler({ startupDelayMs: 0, deletionThreshold: 2 });
  images.delete('ns', image());
  await sleep(100);
  expect(collector.runs).toHaveLength(0); // one deletion is under the threshold, even with nothing scheduled
  images.delete('ns', image());
  await runs(1);
  await sleep(80);
  images.delete('ns', image());
  await sleep(100);
  expect(collector.runs).toHaveLength(1); // one deletion: it waits for the interval
  images.delete('ns', image());
  await runs(2, 500);
});

test('mutation_threshold: enough write transactions make the next scheduled collection run', async () => {
  scheduler({ startupDelayMs: 30, pauseThreshold: 0.5, mutationThreshold: 3 });
  await runs(1);
  // after the startup collection the next comes an interval later (≈ its own duration at 0.5)
  await sleep(100);
  expect(collector.runs).toHaveLength(1); // nothing happened: skipped
  image();
  image();
  await sleep(100);
  expect(collector.runs).toHaveLength(1);
  image();
  await runs(2);
});

test('scheduleAndWait collects at once and gives the stats; callers together share one collection', async () => {
  const s = scheduler({ startupDelayMs: 0, pauseThreshold: 0.02 });
  const name = image();
  images.delete('ns', name);
  const [a, b] = await Promise.all([s.scheduleAndWait(), s.scheduleAndWait()]);
  expect(a).toBe(b);
  expect(a.removed).toBeDefined();
  expect(collector.runs).toHaveLength(1);
});

test('scheduleAndWait during a collection waits for the next one', async () => {
  collector.extraMs = 100;
  const s = scheduler({ startupDelayMs: 0 });
  const first = s.scheduleAndWait();
  await sleep(30); // the first collection is running
  const second = s.scheduleAndWait();
  await first;
  expect(collector.runs).toHaveLength(1);
  await second;
  expect(collector.runs).toHaveLength(2);
});

test('close stops the schedule, fails the waiters and waits for a collection in progress', async () => {
  collector.extraMs = 100;
  const busy = scheduler({ startupDelayMs: 0 });
  const first = busy.scheduleAndWait();
  await sleep(30);
  const t = Date.now();
  await busy.close();
  expect(Date.now() - t).toBeGreaterThanOrEqual(50); // the running collection ended first
  expect((await first).removed).toBeDefined();
  collector.extraMs = 0;
  collector.runs = [];
  const s = scheduler({ startupDelayMs: 50, scheduleDelayMs: 1000 });
  const waiting = s.scheduleAndWait();
  await s.close();
  await expect(waiting).rejects.toThrow(/stopped/);
  await expect(s.scheduleAndWait()).rejects.toThrow(/stopped/);
  images.delete('ns', image());
  await sleep(120);
  expect(collector.runs).toHaveLength(0);
});

test('config: containerd defaults and bounds, Go durations, clear errors', () => {
  expect(schedulerConfig({})).toEqual({ pauseThreshold: 0.02, deletionThreshold: 0, mutationThreshold: 100, scheduleDelayMs: 0, startupDelayMs: 100 });
  expect(schedulerConfig({ pause_threshold: 0.1, deletion_threshold: 5, mutation_threshold: 0, schedule_delay: '1.5s', startup_delay: '0s' })).toEqual({
    pauseThreshold: 0.1,
    deletionThreshold: 5,
    mutationThreshold: 0,
    scheduleDelayMs: 1500,
    startupDelayMs: 0,
  });
  const s = scheduler({ pauseThreshold: 0.9, mutationThreshold: -1, scheduleDelayMs: -5, startupDelayMs: 0 });
  expect(s.config).toEqual({ pauseThreshold: 0.5, deletionThreshold: 0, mutationThreshold: 0, scheduleDelayMs: 0, startupDelayMs: 0 });
  expect(() => schedulerConfig({ schedule_delay: '100' })).toThrow(/invalid duration "100"/);
  expect(() => schedulerConfig({ startup_delay: 100 })).toThrow(/startup_delay: want a duration/);
  expect(() => schedulerConfig({ pause_threshold: 'x' })).toThrow(/pause_threshold: want a number/);
});

test('a failed collection fails its waiters; the next request collects again', async () => {
  let fail = true;
  const real = collector.collect.bind(collector);
  const s = new GCScheduler({ collect: () => (fail ? Promise.reject(new Error('disk on fire')) : real()) }, db, { startupDelayMs: 0 }, nullLogger());
  schedulers.push(s);
  await expect(s.scheduleAndWait()).rejects.toThrow(/disk on fire/);
  fail = false;
  expect((await s.scheduleAndWait()).removed).toBeDefined();
  expect(collector.runs).toHaveLength(1);
});
