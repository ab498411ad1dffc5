/** berthctl version: the client's and the server's. */
import type { CommandModule } from 'yargs';
import { VERSION } from '../services/version/service';
import { withClient, type GlobalArgs } from './context';

export const versionCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'version',
  describe: 'print the client and server versions',
  handler: (a) =>
    withClient(a, async (c) => {
      const v = await c.call('version', 'Version', {});
      if (a.format === 'json') return void process.stdout.write(JSON.stringify({ client: { version: VERSION }, server: v }, null, 2) + '\n');
      process.stdout.write(`Client:\n  Version:  ${VERSION}\n\nServer:\n  Version:  ${v.version}\n  Revision: ${v.revision}\n`);
    }),
};
