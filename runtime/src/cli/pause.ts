import { pauseContainer, resumeContainer } from '../container/pause';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

export const pauseCommand: CommandSpec<Args & { id: string }> = {
  name: 'pause',
  describe: 'pause suspends all processes inside the container',
  positionals: [{ name: 'id', required: true }],
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await pauseContainer(argv.root, argv.id);
  },
};

export const resumeCommand: CommandSpec<Args & { id: string }> = {
  name: 'resume',
  describe: 'resumes all processes that have been previously paused',
  positionals: [{ name: 'id', required: true }],
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    await resumeContainer(argv.root, argv.id);
  },
};
