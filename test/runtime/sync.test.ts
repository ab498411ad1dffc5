/**
 * The sync socket between berth-runtime and berth-nsexec.
 *
 * Right after FORK the parent's {"type":"pid"} line and the child's first
 * {"type":"sync"} line race on the same socket. berth-nsexec once wrote each
 * line as two write()s (the JSON, then "\n"), so under load the two could
 * interleave into one unreadable line; the runtime dropped it and both sides
 * waited for each other forever (a `run` that hung in the test suite).
 * Now a line is one writev(), and an unreadable line fails the plan at once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPlan } from '../../runtime/src/process/spawn-init';
import { ForkMode, step, type Plan } from '../../runtime/src/process/plan';

const BUSYBOX = '/bin/busybox';
let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sync-'));
});
afterAll(() => {
  delete process.env.BERTH_NSEXEC;
  fs.rmSync(work, { recursive: true, force: true });
});

test('FORK, then a SYNC from the child at once: every line arrives whole (200 plans, 4 at a time)', async () => {
  const plan: Plan = [step.fork(ForkMode.Wait), step.sync('first'), step.sync('second'), step.exec([BUSYBOX, 'true'], [])];
  const one = async (): Promise<string[]> => {
    const seen: string[] = [];
    const p = runPlan({ plan, stdio: ['ignore', 'ignore', 'ignore'], onSync: (name) => (seen.push(name), ''), onPid: () => seen.push('pid') });
    await p.done;
    expect(await p.exited).toBe(0);
    return seen;
  };
  for (let i = 0; i < 50; i++) {
    for (const seen of await Promise.all([one(), one(), one(), one()])) {
      expect(seen.filter((s) => s !== 'pid')).toEqual(['first', 'second']);
      expect(seen).toContain('pid');
    }
  }
}, 120_000);

test('an unreadable line fails the plan at once, and berth-nsexec, waiting for a reply, gets EOF and exits', async () => {
  // A stand-in for berth-nsexec (init PLAN SYNC LOG = 3 4 5) that sends two
  // messages glued into one line, then waits for the reply to the second.
  const fake = path.join(work, 'fake-nsexec');
  fs.writeFileSync(fake, `#!/bin/sh\nprintf '{"type":"pid","pid":1}{"type":"sync","name":"x","pid":2}\\n' >&4\nread reply <&4\nexit 3\n`, { mode: 0o755 });
  jest.resetModules();
  process.env.BERTH_NSEXEC = fake;
  const { runPlan: fresh } = await import('../../runtime/src/process/spawn-init');
  const p = fresh({ plan: [step.sync('x')], stdio: ['ignore', 'ignore', 'ignore'], onSync: () => 'never' });
  // before the fix: no answer, no EOF, a hang until the timeout (and the stand-in is killed)
  const hung = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  try {
    await expect(p.done).rejects.toThrow(/berth-nsexec sent an unreadable message: \{"type":"pid","pid":1\}\{"type":"sync"/);
    expect(await p.exited).toBe(3);
  } finally {
    clearTimeout(hung);
  }
}, 20_000);
