import { spawnSync } from 'node:child_process';
import { InvalidArgumentError, InternalError } from '../../../proto/src/errdefs';
import { Container } from '../container/container';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

type PsArgs = Args & { id: string; format: string };

export const psCommand: CommandSpec<PsArgs> = {
  name: 'ps',
  describe: 'ps displays the processes running inside a container',
  positionals: [{ name: 'id', required: true }],
  options: { format: { alias: 'f', type: 'string', default: 'table', describe: 'select one of: table or json' } },
  passThrough: true,
  handler: (argv) => {
    checkSystemdCgroup(argv);
    const c = Container.load(argv.root, argv.id);
    const pids = c.status() === 'stopped' ? [] : c.cgroup().pids();
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(pids) + '\n');
      return;
    }
    if (argv.format !== 'table') throw new InvalidArgumentError('invalid format option');
    // As runc: ps(1) on the host with the given arguments (default -ef), keeping the container's lines.
    const psArgs = argv['--']?.length ? argv['--'].map(String) : ['-ef'];
    const r = spawnSync('ps', psArgs, { encoding: 'utf8' });
    if (r.status !== 0) throw new InternalError(`exit status ${r.status}: ${r.stdout}${r.stderr}`);
    const lines = r.stdout.split('\n');
    const pidIndex = lines[0].trim().split(/\s+/).indexOf('PID');
    if (pidIndex < 0) throw new InvalidArgumentError("couldn't find PID field in ps output");
    const keep = new Set(pids);
    let out = `${lines[0]}\n`;
    for (const line of lines.slice(1)) {
      if (!line) continue;
      const pid = Number(line.trim().split(/\s+/)[pidIndex]);
      if (!Number.isInteger(pid)) throw new InvalidArgumentError('unable to parse pid');
      if (keep.has(pid)) out += `${line}\n`;
    }
    process.stdout.write(out);
  },
};
