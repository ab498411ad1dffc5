import { killContainer } from '../container/kill';
import { parseSignal } from '../process/signals';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

export const killCommand: CommandSpec<Args & { id: string; signal: string; all: boolean }> = {
  name: 'kill',
  describe: "kill sends the specified signal (default: SIGTERM) to the container's init process",
  positionals: [{ name: 'id', required: true }, { name: 'signal', default: 'SIGTERM' }],
  options: { all: { alias: 'a', type: 'boolean', default: false, describe: 'send the specified signal to all processes inside the container' } },
  handler: (argv) => {
    checkSystemdCgroup(argv);
    killContainer(argv.root, argv.id, parseSignal(String(argv.signal)), argv.all);
  },
};
