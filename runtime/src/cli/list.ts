import * as fs from 'node:fs';
import { Container } from '../container/container';
import type { Args, CommandSpec } from './command';
import { checkSystemdCgroup } from './systemd';

type ListArgs = Args & { format: 'table' | 'json'; quiet: boolean };

export const listCommand: CommandSpec<ListArgs> = {
  name: 'list',
  aliases: ['ls'],
  describe: 'lists containers started by berth-runtime with the given root',
  options: {
    format: { alias: 'f', type: 'string', choices: ['table', 'json'], default: 'table', describe: 'select one of: table or json' },
    quiet: { alias: 'q', type: 'boolean', default: false, describe: 'display only container IDs' },
  },
  handler: (argv) => {
    checkSystemdCgroup(argv);
    const containers = Container.list(argv.root);
    if (argv.quiet) {
      for (const c of containers) process.stdout.write(`${c.id}\n`);
      return;
    }
    const states = containers.map((c) => c.ociState());
    if (argv.format === 'json') {
      process.stdout.write(JSON.stringify(states.length ? states : null) + '\n');
      return;
    }
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const s of states) rows.push([s.id, String(s.pid), s.status, s.bundle, s.created, ownerOf(`${argv.root}/${s.id}`)]);
    process.stdout.write(tabwriter(rows));
  },
};

/** Go's tabwriter as runc uses it: min width 12, padding 3, the last column not padded. */
export function tabwriter(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(Math.max(12, widths[i] + 3)))).join('') + '\n')
    .join('');
}

function ownerOf(dir: string): string {
  let uid: number;
  try {
    uid = fs.statSync(dir).uid;
  } catch {
    return '';
  }
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (Number(id) === uid && line) return name;
    }
  } catch {
    /* no passwd */
  }
  return `#${uid}`;
}
