/**
 * berthd: the supervisor daemon, wire-compatible with containerd 1.6's v1 gRPC API.
 *
 *   berthd [--config FILE] [--root DIR] [--state DIR] [--address SOCK] [--log-level L] [--log-format text|json]
 *   berthd config default
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { configToToml, defaultConfig, DEFAULT_CONFIG_PATH, loadConfig, type Config } from './config';
import { createLogger } from './logging';
import { registrations } from './plugins';
import { startDaemon } from './server';
import { VERSION } from '../services/version/service';
import { publish } from '../tasks/publish';

interface Flags {
  config: string;
  root?: string;
  state?: string;
  address?: string;
  'log-level'?: string;
  'log-format'?: string;
}

function effectiveConfig(argv: Flags): Config {
  const cfg = loadConfig(argv.config, argv.config !== DEFAULT_CONFIG_PATH);
  if (argv.root) cfg.root = argv.root;
  if (argv.state) cfg.state = argv.state;
  if (argv.address) cfg.grpc.address = argv.address;
  if (argv['log-level']) cfg.debug.level = argv['log-level'];
  if (argv['log-format']) cfg.debug.format = argv['log-format'];
  return cfg;
}

async function serve(argv: Flags): Promise<void> {
  const cfg = effectiveConfig(argv);
  const log = createLogger({ level: cfg.debug.level, format: cfg.debug.format });
  log.info('starting berthd', { version: VERSION, root: cfg.root, state: cfg.state });
  const daemon = await startDaemon(cfg, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    daemon.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err) => {
        log.error('failed to stop cleanly', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function printDefaultConfig(): void {
  const cfg = defaultConfig();
  for (const r of registrations()) {
    if (r.config && Object.keys(r.config).length) cfg.plugins[`${r.type}.${r.id}`] = { ...r.config };
  }
  process.stdout.write(configToToml(cfg));
}

void yargs(hideBin(process.argv))
  .scriptName('berthd')
  .usage('$0 [options]\n\nberthd is a container supervisor daemon, wire-compatible with containerd\'s v1 API.')
  .option('config', { alias: 'c', type: 'string', default: DEFAULT_CONFIG_PATH, describe: 'path to the configuration file' })
  .option('root', { type: 'string', describe: 'berthd root directory' })
  .option('state', { type: 'string', describe: 'berthd state directory' })
  .option('address', { alias: 'a', type: 'string', describe: 'address for berthd\'s gRPC server' })
  .option('log-level', { alias: 'l', type: 'string', describe: 'set the logging level [trace, debug, info, warn, error]' })
  .option('log-format', { type: 'string', describe: 'log format: text or json' })
  .command(
    'config default',
    'print the default configuration',
    () => undefined,
    () => printDefaultConfig(),
  )
  .command(
    'publish',
    'publish an event (the -publish-binary of shims)',
    (y) => y.option('topic', { type: 'string', default: '' }).option('namespace', { type: 'string', default: '' }),
    (argv) =>
      publish(effectiveConfig(argv as unknown as Flags).grpc.address, argv.namespace, argv.topic).catch((err: Error) => {
        process.stderr.write(`berthd: ${err.message}\n`);
        process.exit(1);
      }),
  )
  .command(
    '$0',
    'run the daemon',
    () => undefined,
    (argv) =>
      serve(argv as unknown as Flags).catch((err: Error) => {
        process.stderr.write(`berthd: ${err.message}\n`);
        process.exit(1);
      }),
  )
  .version(VERSION)
  .strict()
  .help()
  .parse();
