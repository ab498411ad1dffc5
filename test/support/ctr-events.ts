/**
 * `ctr events` against a daemon, subscribed before it is handed back: it
 * labels a probe namespace until that update shows in the output, so no
 * event of what the caller does next can come before the subscription (a
 * fixed wait could, on a loaded machine: a test lost a TaskOOM that way).
 * The probe's events are in ctr's namespace ("default") and name
 * berth-events-probe; `out()` is everything printed so far.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const PROBE = 'berth-events-probe';

export interface CtrEvents {
  out(): string;
  stop(): void;
}

export async function watchCtrEvents(address: string, env: NodeJS.ProcessEnv = process.env): Promise<CtrEvents> {
  const proc = spawn('ctr', ['--address', address, 'events'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const stop = (): void => void proc.kill();
  const ctr = (...args: string[]) => execFileP('ctr', ['--address', address, 'namespaces', ...args], { env });
  try {
    await ctr('create', PROBE).catch(() => undefined); // there already: the labels below do
    for (let i = 0; !out.includes(`/namespaces/update {"name":"${PROBE}"`); i++) {
      if (i === 100) throw new Error(`ctr events showed no update of ${PROBE} in 10 s: ${JSON.stringify(out)}`);
      await ctr('label', PROBE, 'berth.test/probe', String(i));
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    stop();
    throw err;
  }
  return { out: () => out, stop };
}
