/** Forces a synchronous garbage collection through the API (a lease deleted with sync). */
import type { Client } from '../../../supervisor/src/client/client';

export async function collectGarbage(c: Client): Promise<void> {
  const { lease } = await c.call('leases', 'Create', { id: `gc-${Date.now()}-${Math.random().toString(16).slice(2)}`, labels: {} });
  await c.call('leases', 'Delete', { id: lease.id, sync: true });
}

export async function contentDigests(c: Client): Promise<string[]> {
  const out: string[] = [];
  for await (const m of c.stream('content', 'List', { filters: [] })) out.push(...m.info.map((i: { digest: string }) => i.digest));
  return out.sort();
}
