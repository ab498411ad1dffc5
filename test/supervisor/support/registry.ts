/**
 * Debian's docker-registry (distribution 2.8) on 127.0.0.1:<free port> with
 * a temp storage dir: open, with htpasswd (Basic) auth, with token (Bearer)
 * auth served by a tiny token server here, or with TLS from a CA made here.
 * Plus a proxy that injects faults (500s, cut connections) in front of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { hashSync } from 'bcryptjs';
import { freePort } from './ports';
import { track } from './reaper';
import { runOk } from './run';

export interface Registry {
  host: string;
  port: number;
  /** Token requests seen by the token server (token auth only). */
  tokenRequests: Array<{ scope: string; service: string; authorized: boolean }>;
  caFile?: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  user?: string;
  password?: string;
  tls?: boolean;
}

/** libtrust's key id of a public key (what distribution matches a token's kid against). */
function libtrustKeyId(pub: crypto.KeyObject): string {
  const der = pub.export({ type: 'spki', format: 'der' });
  const h = crypto.createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of h) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Waits for a docker-registry to log that it listens on its port. A connect
 * alone is not enough: the port comes from freePort() and may be taken
 * before the registry binds it (by another test's server), and a connect
 * would then reach that server. Resolves false when the bind failed that way.
 */
async function waitListening(port: number, proc: ChildProcess, log: () => string): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    const text = log();
    if (text.includes(`listening on 127.0.0.1:${port}`)) return true;
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await new Promise((r) => setTimeout(r, 20)); // its last words
      if (/address already in use/.test(log())) return false;
      throw new Error(`docker-registry exited: ${log()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`docker-registry did not listen: ${log()}`);
}

export async function startRegistry(work: string, opts: RegistryOptions = {}): Promise<Registry> {
  const dir = fs.mkdtempSync(path.join(work, 'registry-'));
  const user = opts.user ?? 'tester';
  const password = opts.password ?? 'secret';
  const tokenRequests: Registry['tokenRequests'] = [];
  let tokenServer: http.Server | undefined;
  let auth = '';
  if (opts.auth === 'htpasswd') {
    fs.writeFileSync(path.join(dir, 'htpasswd'), `${user}:${hashSync(password, 5)}\n`);
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  } else if (opts.auth === 'token') {
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'token.key'), '-out', path.join(dir, 'token.crt'), '-days', '1', '-subj', '/CN=berth-token']);
    const key = crypto.createPrivateKey(fs.readFileSync(path.join(dir, 'token.key')));
    const kid = libtrustKeyId(crypto.createPublicKey(key));
    tokenServer = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const authorized = req.headers.authorization === basic;
      const scope = u.searchParams.get('scope') ?? '';
      tokenRequests.push({ scope, service: u.searchParams.get('service') ?? '', authorized });
      if (!authorized) {
        res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const [, name, actions] = scope.split(':');
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid }));
      const claims = b64url(
        JSON.stringify({ iss: 'berth-test-issuer', sub: user, aud: 'berth-registry', exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access: name ? [{ type: 'repository', name, actions: actions.split(',') }] : [] }),
      );
      const sig = crypto.sign('sha256', Buffer.from(`${header}.${claims}`), key);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 }));
    });
    await new Promise<void>((r) => tokenServer!.listen(0, '127.0.0.1', () => r()));
    const tport = (tokenServer.address() as net.AddressInfo).port;
    auth = `auth:\n  token:\n    realm: http://127.0.0.1:${tport}/token\n    service: berth-registry\n    issuer: berth-test-issuer\n    rootcertbundle: ${path.join(dir, 'token.crt')}\n`;
  }
  let tls = '';
  let caFile: string | undefined;
  if (opts.tls) {
    caFile = path.join(dir, 'ca.crt');
    await runOk('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'ca.key'), '-out', caFile, '-days', '1', '-subj', '/CN=berth-test-ca']);
    await runOk('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.csr'), '-subj', '/CN=127.0.0.1']);
    fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    await runOk('openssl', ['x509', '-req', '-in', path.join(dir, 'tls.csr'), '-CA', caFile, '-CAkey', path.join(dir, 'ca.key'), '-CAcreateserial', '-out', path.join(dir, 'tls.crt'), '-days', '1', '-extfile', path.join(dir, 'ext.cnf')]);
    tls = `  tls:\n    certificate: ${path.join(dir, 'tls.crt')}\n    key: ${path.join(dir, 'tls.key')}\n`;
  }
  const cfg = path.join(dir, 'config.yml');
  const logFile = path.join(dir, 'registry.log');
  let port = 0;
  let proc: ChildProcess | undefined;
  for (let attempt = 0; !proc; attempt++) {
    port = await freePort();
    fs.writeFileSync(
      cfg,
      `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: berth-test\n${tls}${auth}`,
    );
    const fd = fs.openSync(logFile, 'w'); // this attempt's log only
    const p = track(spawn('docker-registry', ['serve', cfg], { stdio: ['ignore', fd, fd] }));
    fs.closeSync(fd);
    if (await waitListening(port, p, () => fs.readFileSync(logFile, 'utf8'))) proc = p;
    else if (attempt === 4) throw new Error(`docker-registry: no free port in 5 tries: ${fs.readFileSync(logFile, 'utf8')}`);
  }
  const running = proc;
  return {
    host: `127.0.0.1:${port}`,
    port,
    tokenRequests,
    caFile,
    stop: async () => {
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((r) => running.once('exit', r));
        running.kill('SIGTERM');
        await exited;
      }
      await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Fault = (req: http.IncomingMessage) => 'pass' | '500' | '404' | { cutAfter: number };

/** A plain-HTTP proxy in front of a registry that applies `fault` to each request. */
export async function startFaultyProxy(target: string, fault: Fault): Promise<{ host: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ' ' + req.headers.range : ''}`);
    const f = fault(req);
    if (f === '500') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('injected failure');
    if (f === '404') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND"}]}');
    const up = http.request(`http://${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: target } }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      if (typeof f === 'object') {
        let sent = 0;
        ur.on('data', (c: Buffer) => {
          if (sent >= f.cutAfter) return;
          const part = c.subarray(0, f.cutAfter - sent);
          sent += part.length;
          res.write(part);
          if (sent >= f.cutAfter) {
            ur.destroy();
            res.socket?.destroy();
          }
        });
        ur.on('end', () => res.end());
      } else ur.pipe(res);
    });
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r())); // port 0: no window for another to take it
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
