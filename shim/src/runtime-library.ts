/**
 * berth-runtime in-process: the RuntimeClient that calls the runtime's
 * functions directly instead of starting `berth-runtime` for each operation
 * (each start of a Node CLI costs ~100 ms; here an operation costs only its
 * own work). The shim uses it when the runtime is berth-runtime itself;
 * any other BinaryName (runc, crun, ...) goes through RuncCli.
 *
 * Failures become RuntimeErrors worded as the CLI would log them, so the
 * shim's error mapping (process/errors.ts) sees the same text either way.
 */
import * as fs from 'node:fs';
import { BerthError } from '../../proto/src/errdefs';
import { Container } from '../../runtime/src/container/container';
import { createContainer } from '../../runtime/src/container/create';
import { deleteContainer } from '../../runtime/src/container/delete';
import { execInContainer } from '../../runtime/src/container/exec';
import { killContainer } from '../../runtime/src/container/kill';
import { pauseContainer, resumeContainer } from '../../runtime/src/container/pause';
import { startContainer } from '../../runtime/src/container/start';
import { updateContainer } from '../../runtime/src/container/update';
import { configureLogging } from '../../runtime/src/logging';
import type { StdioEntry } from '../../runtime/src/process/spawn-init';
import type { LinuxResources, Process as OciProcess } from '../../runtime/src/spec/types';
import { RuntimeError, type ContainerState, type CreateOpts, type ExecOpts, type RuntimeClient, type RuntimeConfig, type RuntimeIO } from './runtime-client';

const stdio = (io: RuntimeIO | undefined): [StdioEntry, StdioEntry, StdioEntry] => [
  io?.stdin ?? 'ignore',
  io?.stdout ?? 'ignore',
  io?.stderr ?? 'ignore',
];

export class RuntimeLibrary implements RuntimeClient {
  constructor(readonly config: RuntimeConfig) {
    fs.mkdirSync(config.root, { recursive: true, mode: 0o700 });
    // The runtime's own log goes where the CLI's --log would have put it.
    configureLogging({ file: config.log, format: 'json', debug: !!config.debug });
  }

  private async call<T>(command: string, fn: () => Promise<T> | T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      // The CLI's wording (runtime/src/main.ts reportError), which shims match on.
      const text =
        command === 'exec' ? `exec failed: ${message}` : command === 'create' && err instanceof BerthError ? `berth-runtime create failed: ${message}` : message;
      throw new RuntimeError(command, 1, '', text);
    }
  }

  async create(id: string, o: CreateOpts): Promise<void> {
    await this.call('create', () =>
      createContainer({
        root: this.config.root,
        id,
        bundle: o.bundle,
        pidFile: o.pidFile,
        consoleSocket: o.consoleSocket,
        noPivot: o.noPivot,
        noNewKeyring: o.noNewKeyring,
        systemdCgroup: this.config.systemdCgroup,
        stdio: stdio(o.io),
      }),
    );
  }

  async start(id: string): Promise<void> {
    await this.call('start', () => startContainer(this.config.root, id));
  }

  async exec(id: string, process: OciProcess, o: ExecOpts): Promise<void> {
    await this.call('exec', () =>
      execInContainer({
        root: this.config.root,
        id,
        process,
        consoleSocket: o.consoleSocket,
        pidFile: o.pidFile,
        detach: true,
        preserveFds: 0,
        ignorePaused: false,
        stdio: stdio(o.io),
      }),
    );
  }

  async kill(id: string, signal: number, o: { all?: boolean } = {}): Promise<void> {
    await this.call('kill', () => killContainer(this.config.root, id, signal, !!o.all));
  }

  async delete(id: string, o: { force?: boolean } = {}): Promise<void> {
    await this.call('delete', () => deleteContainer(this.config.root, id, !!o.force));
  }

  async state(id: string): Promise<ContainerState> {
    return this.call('state', () => Container.load(this.config.root, id).ociState() as ContainerState);
  }

  async ps(id: string): Promise<number[]> {
    return this.call('ps', () => {
      const c = Container.load(this.config.root, id);
      return c.status() === 'stopped' ? [] : c.cgroup().pids();
    });
  }

  async pause(id: string): Promise<void> {
    await this.call('pause', () => pauseContainer(this.config.root, id));
  }

  async resume(id: string): Promise<void> {
    await this.call('resume', () => resumeContainer(this.config.root, id));
  }

  async update(id: string, resources: LinuxResources): Promise<void> {
    await this.call('update', () => updateContainer(this.config.root, id, resources));
  }
}
