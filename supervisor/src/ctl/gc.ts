/**
 * berthctl gc: a garbage collection on demand. The v1 API has no GC call;
 * deleting a lease with sync runs a full collection before answering (on
 * berthd and containerd alike), so that is what this does.
 */
import type { CommandModule } from 'yargs';
import { withClient, type GlobalArgs } from './context';

export const gcCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'gc',
  describe: 'collect garbage now (unreferenced content, expired leases and ingests)',
  handler: (a) =>
    withClient(a, async (c) => {
      const t = Date.now();
      const { lease } = await c.call('leases', 'Create', { id: `gc-${t}-${process.pid}`, labels: {} });
      await c.call('leases', 'Delete', { id: lease.id, sync: true });
      process.stdout.write(`collected in ${Date.now() - t} ms\n`);
    }),
};
