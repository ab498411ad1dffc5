/**
 * A client of an OCI distribution registry (the v2 HTTP API) for one
 * repository: Basic and Bearer token auth answered from WWW-Authenticate,
 * plain HTTP for named hosts, HTTPS with a custom CA, redirects, and HTTP
 * statuses turned into error kinds (401/403 → PermissionDenied, 404 →
 * NotFound, 5xx and cut connections → Unavailable).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { BerthError, NotFoundError, UnavailableError } from '../../../../proto/src/errdefs';
import type { Reference } from '../reference';

export interface RegistryOptions {
  /** Hosts to talk plain HTTP to (ctr --plain-http: the host being pulled from); true = this host. */
  plainHttp?: boolean;
  /** PEM file of a CA to trust for HTTPS. */
  caFile?: string;
  skipVerify?: boolean;
  username?: string;
  password?: string;
}

export interface RegistryResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header: Bearer realm="...",service="...",scope="...". */
export function parseChallenge(h: string | undefined): Challenge | undefined {
  if (!h) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(h);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)="([^"]*)"|(\w+)=([^,\s]*)/g)) params[(p[1] ?? p[3]).toLowerCase()] = p[2] ?? p[4];
  return { scheme, params };
}

export class Registry {
  readonly host: string;
  readonly repo: string;
  private readonly agent: http.Agent;
  private authorization: string | undefined;
  private readonly scheme: 'http' | 'https';

  constructor(
    ref: Reference,
    private readonly opts: RegistryOptions = {},
    private readonly actions = 'pull',
  ) {
    this.host = ref.domain === 'docker.io' ? 'registry-1.docker.io' : ref.domain;
    this.repo = ref.path;
    this.scheme = opts.plainHttp ? 'http' : 'https';
    this.agent =
      this.scheme === 'http'
        ? new http.Agent({ keepAlive: true, maxSockets: 8 })
        : new https.Agent({ keepAlive: true, maxSockets: 8, ca: opts.caFile ? fs.readFileSync(opts.caFile) : undefined, rejectUnauthorized: !opts.skipVerify });
  }

  url(p: string): string {
    return `${this.scheme}://${this.host}/v2/${this.repo}/${p}`;
  }

  private raw(method: string, url: string, headers: Record<string, string>, body?: Buffer | NodeJS.ReadableStream): Promise<RegistryResponse> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const mod = u.protocol === 'http:' ? http : https;
      const req = mod.request(u, { method, headers, agent: u.protocol === `${this.scheme}:` ? this.agent : undefined }, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.on('error', (err) => reject(new UnavailableError(`failed to do request ${method} ${url}: ${(err as Error).message}`, { cause: err })));
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else (body as NodeJS.ReadableStream).pipe(req);
    });
  }

  /** Answers an auth challenge: Basic with the credentials, or a Bearer token from the realm. */
  private async authorize(ch: Challenge): Promise<boolean> {
    const basic = this.opts.username !== undefined ? `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ''}`).toString('base64')}` : undefined;
    if (ch.scheme === 'basic') {
      if (!basic || this.authorization === basic) return false;
      this.authorization = basic;
      return true;
    }
    const realm = ch.params.realm;
    if (!realm) return false;
    const u = new URL(realm);
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    u.searchParams.set('scope', ch.params.scope ?? `repository:${this.repo}:${this.actions}`);
    const res = await this.raw('GET', u.toString(), basic ? { authorization: basic } : {});
    const text = await readAll(res.body);
    if (res.status !== 200) {
      throw new BerthError('PermissionDenied', `failed to fetch token from ${realm}: ${res.status} ${http.STATUS_CODES[res.status] ?? ''}`.trim());
    }
    const tok = JSON.parse(text.toString()) as { token?: string; access_token?: string };
    const token = tok.token ?? tok.access_token;
    if (!token) throw new BerthError('PermissionDenied', `token server ${realm} answered without a token`);
    const next = `Bearer ${token}`;
    if (next === this.authorization) return false;
    this.authorization = next;
    return true;
  }

  /**
   * Sends a request with auth and redirects handled; statuses in `ok` are
   * returned, anything else becomes an error of the right kind. A body given
   * as a function is re-made for each attempt.
   */
  async request(method: string, url: string, opts: { headers?: Record<string, string>; body?: () => Buffer | NodeJS.ReadableStream; ok?: number[] } = {}): Promise<RegistryResponse> {
    const ok = opts.ok ?? [200];
    let target = url;
    for (let attempt = 0; attempt < 6; attempt++) {
      const headers: Record<string, string> = { 'user-agent': 'berth/0.1', ...(opts.headers ?? {}) };
      const sameHost = new URL(target).host === this.host;
      if (this.authorization && sameHost) headers.authorization = this.authorization;
      const res = await this.raw(method, target, headers, opts.body?.());
      if (ok.includes(res.status)) return res;
      if (res.status === 401 && sameHost) {
        res.body.resume();
        // Another request may have authorized meanwhile (concurrent layers): retry with that first.
        if (this.authorization && headers.authorization !== this.authorization) continue;
        const challenge = res.headers['www-authenticate'] as string | undefined;
        const ch = parseChallenge(challenge);
        if (ch && (await this.authorize(ch))) continue;
        // What the registry asked for says why (an insufficient scope, an invalid token, a realm).
        const asked = challenge ? `; it asks for ${challenge}` : '; it sent no challenge';
        throw new BerthError('PermissionDenied', `failed to authorize: ${method} ${target}: 401 Unauthorized${this.opts.username === undefined ? ' (no credentials given)' : ''}${asked}`);
      }
      if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
        res.body.resume();
        target = new URL(res.headers.location, target).toString();
        continue;
      }
      const detail = (await readAll(res.body).catch(() => Buffer.alloc(0))).toString().slice(0, 300).trim();
      const what = `${method} ${target}: ${res.status} ${http.STATUS_CODES[res.status] ?? ''}`.trim() + (detail ? `: ${detail}` : '');
      if (res.status === 404) throw new NotFoundError(`${what}`);
      if (res.status === 403) throw new BerthError('PermissionDenied', what);
      if (res.status === 416) throw new BerthError('InvalidArgument', what);
      if (res.status >= 500 || res.status === 429) throw new UnavailableError(`registry error: ${what}`);
      throw new BerthError('FailedPrecondition', `unexpected registry answer: ${what}`);
    }
    throw new UnavailableError(`too many redirects or auth rounds for ${method} ${url}`);
  }

  close(): void {
    this.agent.destroy();
  }
}

export async function readAll(s: NodeJS.ReadableStream, limit = 64 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of s as AsyncIterable<Buffer>) {
    parts.push(c);
    n += c.length;
    if (n > limit) throw new BerthError('ResourceExhausted', `response larger than ${limit} bytes`);
  }
  return Buffer.concat(parts);
}
