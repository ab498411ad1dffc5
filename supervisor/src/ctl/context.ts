/** Global options every berthctl command gets, and the client they make. */
import { Client } from '../client/client';
import type { Format } from './output';

export interface GlobalArgs {
  address: string;
  namespace: string;
  format: Format;
}

export function clientOf(argv: GlobalArgs): Client {
  return new Client(argv.address, argv.namespace);
}

/** Runs a command body with a client, closing it after. */
export async function withClient<T>(argv: GlobalArgs, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = clientOf(argv);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Parses user[:password]. */
export function credentials(user: string | undefined): { username?: string; password?: string } {
  if (!user) return {};
  const i = user.indexOf(':');
  return i < 0 ? { username: user, password: process.env.BERTH_PASSWORD ?? '' } : { username: user.slice(0, i), password: user.slice(i + 1) };
}

export function parseLabels(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}
