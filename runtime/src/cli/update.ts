import * as fs from 'node:fs';
import { InvalidArgumentError, NotImplementedError } from '../../../proto/src/errdefs';
import { ramInBytes, updateContainer } from '../container/update';
import type { LinuxResources } from '../spec/types';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

type UpdateArgs = Args & {
  id: string;
  resources?: string;
  'blkio-weight'?: number;
  'cpu-period'?: string;
  'cpu-quota'?: string;
  'cpu-share'?: string;
  'cpu-rt-period'?: string;
  'cpu-rt-runtime'?: string;
  'cpuset-cpus'?: string;
  'cpuset-mems'?: string;
  'kernel-memory'?: string;
  'kernel-memory-tcp'?: string;
  memory?: string;
  'memory-reservation'?: string;
  'memory-swap'?: string;
  'pids-limit'?: number;
  'l3-cache-schema'?: string;
  'mem-bw-schema'?: string;
};

const int = (v: string, flag: string, signed: boolean): number => {
  if (!(signed ? /^-?\d+$/ : /^\d+$/).test(v)) throw new InvalidArgumentError(`invalid value for ${flag}: ${JSON.stringify(v)} is not an integer`);
  return Number(v);
};

/** The LinuxResources that the flags ask for, and only those (runc's update). */
export function resourcesFromFlags(a: Partial<UpdateArgs>): LinuxResources {
  const r: LinuxResources = {};
  const cpu = () => (r.cpu ??= {});
  const mem = () => (r.memory ??= {});
  if (a['blkio-weight']) r.blockIO = { weight: a['blkio-weight'] };
  if (a['cpuset-cpus']) cpu().cpus = a['cpuset-cpus'];
  if (a['cpuset-mems']) cpu().mems = a['cpuset-mems'];
  if (a['cpu-period']) cpu().period = int(a['cpu-period'], 'cpu-period', false);
  if (a['cpu-rt-period']) cpu().realtimePeriod = int(a['cpu-rt-period'], 'cpu-rt-period', false);
  if (a['cpu-share']) cpu().shares = int(a['cpu-share'], 'cpu-share', false);
  if (a['cpu-quota']) cpu().quota = int(a['cpu-quota'], 'cpu-quota', true);
  if (a['cpu-rt-runtime']) cpu().realtimeRuntime = int(a['cpu-rt-runtime'], 'cpu-rt-runtime', true);
  if (a.memory) mem().limit = ramInBytes(a.memory, 'memory');
  if (a['memory-swap']) mem().swap = ramInBytes(a['memory-swap'], 'memory-swap');
  if (a['memory-reservation']) mem().reservation = ramInBytes(a['memory-reservation'], 'memory-reservation');
  if (a['kernel-memory']) mem().kernel = ramInBytes(a['kernel-memory'], 'kernel-memory');
  if (a['kernel-memory-tcp']) mem().kernelTCP = ramInBytes(a['kernel-memory-tcp'], 'kernel-memory-tcp');
  if (a['pids-limit']) r.pids = { limit: a['pids-limit'] };
  return r;
}

export const updateCommand: CommandSpec<UpdateArgs> = {
  name: 'update',
  describe: 'update container resource constraints',
  positionals: [{ name: 'id', required: true }],
  options: {
    resources: { alias: 'r', type: 'string', describe: "path to the file containing the resources to update or '-' to read from the standard input" },
    'blkio-weight': { type: 'number', describe: 'Specifies per cgroup weight, range is from 10 to 1000' },
    'cpu-period': { type: 'string', describe: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
    'cpu-quota': { type: 'string', describe: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
    'cpu-share': { type: 'string', describe: 'CPU shares (relative weight vs. other containers)' },
    'cpu-rt-period': { type: 'string', describe: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
    'cpu-rt-runtime': { type: 'string', describe: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
    'cpuset-cpus': { type: 'string', describe: 'CPU(s) to use' },
    'cpuset-mems': { type: 'string', describe: 'Memory node(s) to use' },
    'kernel-memory': { type: 'string', hidden: true, describe: 'ignored, as by runc' },
    'kernel-memory-tcp': { type: 'string', hidden: true, describe: 'ignored, as by runc' },
    memory: { type: 'string', describe: 'Memory limit (in bytes)' },
    'memory-reservation': { type: 'string', describe: 'Memory reservation or soft_limit (in bytes)' },
    'memory-swap': { type: 'string', describe: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
    'pids-limit': { type: 'number', describe: 'Maximum number of pids allowed in the container' },
    'l3-cache-schema': { type: 'string', describe: 'The string of Intel RDT/CAT L3 cache schema' },
    'mem-bw-schema': { type: 'string', describe: 'The string of Intel RDT/MBA memory bandwidth schema' },
  },
  handler: async (argv) => {
    checkSystemdCgroup(argv);
    if (argv['l3-cache-schema']) throw new NotImplementedError('Intel RDT/CAT: l3 cache schema is not enabled');
    if (argv['mem-bw-schema']) throw new NotImplementedError('Intel RDT/MBA: memory bandwidth schema is not enabled');
    let r: LinuxResources;
    if (argv.resources) {
      const text = fs.readFileSync(argv.resources === '-' ? 0 : argv.resources, 'utf8');
      try {
        r = JSON.parse(text) as LinuxResources;
      } catch (err) {
        throw new InvalidArgumentError(`cannot parse the resources: ${(err as Error).message}`, { cause: err });
      }
      if (!r || typeof r !== 'object' || Array.isArray(r)) throw new InvalidArgumentError('the resources must be a JSON object (runtime-spec LinuxResources)');
    } else {
      r = resourcesFromFlags(argv);
    }
    await updateContainer(argv.root, argv.id, r);
  },
};
