/**
 * freezer: freeze stops a counter from advancing, thaw resumes it, and the
 * reported state follows (v1 freezer.state, v2 cgroup.freeze/cgroup.events).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CgroupTracker, sleep, waitFor } from './cgroups-support';

const t = new CgroupTracker();
let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-freezer-'));
});
afterEach(async () => {
  await t.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const count = (f: string): number => Number(fs.readFileSync(f, 'utf8').trim() || '0');

describe('freezer', () => {
  it('freeze stops the counter, thaw resumes it', async () => {
    const m = t.manager('freeze');
    m.create();
    const file = path.join(tmp, 'counter');
    t.start(m, `i=0; while :; do i=$((i+1)); echo $i > ${file}.tmp; mv ${file}.tmp ${file}; done`);
    await waitFor(() => fs.existsSync(file) && count(file) > 10, 5000, 'the counter to run');
    expect(m.freezerState()).toBe('thawed');
    m.freeze();
    expect(m.freezerState()).toBe('frozen');
    const frozenAt = count(file);
    await sleep(400);
    expect(count(file)).toBe(frozenAt);
    m.thaw();
    expect(m.freezerState()).toBe('thawed');
    await waitFor(() => count(file) > frozenAt + 10, 5000, 'the counter to advance again');
  });

  it('freezing an empty cgroup works, and state survives loading the manager again', async () => {
    const m = t.manager('freezeempty');
    m.create();
    m.freeze();
    const { loadCgroupManager } = await import('../../runtime/src/cgroups/new');
    expect(loadCgroupManager(m.paths()).freezerState()).toBe('frozen');
    m.thaw();
    expect(loadCgroupManager(m.paths()).freezerState()).toBe('thawed');
  });
});
