import { ExitWaiters } from './exits';

const at = { seconds: 1, nanos: 2 };

test('an exit settles the waiters of that process only', async () => {
  const w = new ExitWaiters();
  const init = w.add('ns', 'c1', 'c1', 100);
  const exec = w.add('ns', 'c1', 'e1', 0);
  const other = w.add('ns', 'c2', 'c2', 0);
  w.exit('ns', 'c1', 'c1', { pid: 100, status: 3, exitedAt: at });
  await expect(init.exited).resolves.toEqual({ pid: 100, status: 3, exitedAt: at });
  let settled = false;
  void exec.exited.then(() => (settled = true));
  void other.exited.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  expect(settled).toBe(false);
  for (const x of [init, exec, other]) x.cancel();
  expect(w.size).toBe(0);
});

test('the exit of an older process with the same id is ignored when the pid is known', async () => {
  const w = new ExitWaiters();
  const x = w.add('ns', 'c1', 'c1', 200);
  w.exit('ns', 'c1', 'c1', { pid: 100, status: 1, exitedAt: at });
  w.exit('ns', 'c1', 'c1', { pid: 200, status: 2, exitedAt: at });
  await expect(x.exited).resolves.toMatchObject({ status: 2 });
  x.cancel();
});

test('exitAll settles every process of a container (a dead shim), not those of another', async () => {
  const w = new ExitWaiters();
  const a = w.add('ns', 'c1', 'c1', 1);
  const b = w.add('ns', 'c1', 'exec', 2);
  const c = w.add('ns', 'c10', 'c10', 3);
  w.exitAll('ns', 'c1', { pid: 1, status: 137, exitedAt: at });
  await expect(Promise.all([a.exited, b.exited])).resolves.toHaveLength(2);
  let settled = false;
  void c.exited.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  expect(settled).toBe(false);
});
