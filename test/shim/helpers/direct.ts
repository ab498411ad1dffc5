/**
 * Driving containerd-shim-berth-v2 directly over ttrpc, the way the
 * supervisor will: `start` in a hand-made bundle, a TtrpcClient on the
 * printed address, and a fake containerd events service (a TtrpcServer on
 * $TTRPC_ADDRESS) that records what the shim forwards.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TtrpcClient } from '../../../shim/src/ttrpc/client';
import { TtrpcServer } from '../../../shim/src/ttrpc/server';
import { shimRoot } from '../../../shim/src/protos';
import { DIST, forceDelete, listProcesses, unmountUnder } from './containerd';
import { buildBusyboxRootfs } from './image';

export interface ReceivedEvent {
  namespace: string;
  topic: string;
  type: string;
  event: Record<string, unknown>;
}

export class EventSink {
  readonly events: ReceivedEvent[] = [];
  private server?: TtrpcServer;
  private listener?: net.Server;

  constructor(readonly socket: string) {}

  async start(): Promise<void> {
    const root = shimRoot();
    const fwd = root.lookupType('containerd.services.events.ttrpc.v1.ForwardRequest');
    this.server = new TtrpcServer();
    this.server.register('containerd.services.events.ttrpc.v1.Events', 'Forward', async (payload) => {
      const req = fwd.toObject(fwd.decode(payload), { longs: Number }) as {
        envelope: { namespace: string; topic: string; event: { type_url: string; value: Uint8Array } };
      };
      const e = req.envelope;
      const t = root.lookupType(e.event.type_url);
      this.events.push({ namespace: e.namespace, topic: e.topic, type: e.event.type_url, event: t.toObject(t.decode(e.event.value), { longs: Number }) });
      return new Uint8Array(0);
    });
    this.listener = net.createServer();
    await new Promise<void>((r) => this.listener!.listen(this.socket, r));
    this.server.serve(this.listener);
  }

  stop(): void {
    this.server?.close();
    this.server = undefined;
  }

  topics(containerId: string): string[] {
    return this.events.filter((e) => e.event.containerId === containerId).map((e) => e.topic);
  }
}

export class DirectShim {
  client!: TtrpcClient;
  /** Overrides of the shim's environment (e.g. TTRPC_ADDRESS: '' for the publish binary). */
  envOverrides: NodeJS.ProcessEnv = {};
  publishBinary = '/bin/false';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  task!: Record<string, (req: object, opts?: object) => Promise<any>>;
  address = '';

  private constructor(readonly dir: string, readonly rootfsSource: string, readonly sink: EventSink) {}

  static async create(): Promise<DirectShim> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-dshim-'));
    const rootfs = buildBusyboxRootfs(dir, 'rootfs-src');
    const sink = new EventSink(path.join(dir, 'events.sock'));
    await sink.start();
    return new DirectShim(dir, rootfs, sink);
  }

  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TTRPC_ADDRESS: this.sink.socket,
      BERTH_SHIM_STATE_ROOT: path.join(this.dir, 'shim'),
      BERTH_SHIM_RUNTIME: '/usr/sbin/runc',
      BERTH_SHIM_RUNTIME_ROOT: path.join(this.dir, 'runc'),
      BERTH_SHIM_LOG: path.join(this.dir, 'shim.log'),
      ...this.envOverrides,
    };
    delete env.NODE_EXTRA_CA_CERTS;
    return env;
  }

  /** A bundle directory with a runc config for `args`. */
  bundle(id: string, args: string[], edit: (spec: Record<string, unknown>) => void = () => undefined): string {
    const b = path.join(this.dir, `bundle-${id}`);
    fs.mkdirSync(b, { recursive: true });
    execFileSync('runc', ['spec', '--bundle', b]);
    const spec = JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8'));
    spec.process.args = args;
    spec.process.terminal = false;
    spec.root = { path: 'rootfs', readonly: false };
    edit(spec);
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify(spec));
    return b;
  }

  /** Runs `start` in `bundle` and connects. */
  async start(id: string, bundle: string): Promise<void> {
    this.address = await new Promise<string>((resolve, reject) => {
      const child = execFile(path.join(DIST, 'bin', 'containerd-shim-berth-v2'),
        ['-namespace', 'testns', '-id', id, '-address', path.join(this.dir, 'fake-containerd.sock'), '-publish-binary', this.publishBinary, 'start'],
        { cwd: bundle, env: this.env }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)));
      child.stdin?.end();
    });
    this.client = await TtrpcClient.connect(this.address);
    this.task = this.client.stub(shimRoot().lookupService('containerd.task.v2.Task'));
  }

  rootfsMount(): object {
    return { type: 'bind', source: this.rootfsSource, options: ['rbind', 'rw'] };
  }

  /** The reaper's pid (ConnectResponse.shim_pid). */
  async shimPid(): Promise<number> {
    return (await this.task.Connect({ id: '' })).shimPid as number;
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'shim.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async cleanup(): Promise<void> {
    this.client?.close();
    this.sink.stop();
    const root = path.join(this.dir, 'runc', 'testns');
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) forceDelete(root, id);
    for (const p of listProcesses()) {
      if (p.cmdline.includes('shim-reaper') && p.cmdline.includes(this.dir)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    unmountUnder(this.dir);
    execFileSync('rm', ['-rf', '--one-file-system', this.dir]);
  }
}
