import type { CommandModule } from 'yargs';
import { pauseContainer, resumeContainer } from '../container/pause';
import type { GlobalArgs } from './global';
import { checkSystemdCgroup } from './systemd';

interface Args extends GlobalArgs {
  id: string;
}

export const pauseCommand: CommandModule<GlobalArgs, Args> = {
  command: 'pause <id>',
  describe: 'pause suspends all processes inside the container',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await pauseContainer(argv.root, argv.id);
  },
};

export const resumeCommand: CommandModule<GlobalArgs, Args> = {
  command: 'resume <id>',
  describe: 'resumes all processes that have been previously paused',
  builder: (y) => y.positional('id', { type: 'string', demandOption: true }) as never,
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await resumeContainer(argv.root, argv.id);
  },
};
