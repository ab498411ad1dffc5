/**
 * Extended attributes. Node has no xattr calls, so this drives getfattr/setfattr
 * (Debian package attr) in bulk: one getfattr -R for a whole tree and one
 * `setfattr --restore` for many files, never one process per file.
 */
import * as path from 'node:path';
import { run } from './exec';

export type Xattrs = Map<string, Buffer>;

/** Decodes getfattr's octal escapes in a "# file:" name. */
const unescape = (s: string): string =>
  Buffer.from(
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
    'latin1',
  ).toString('utf8');

/** Escapes a path for a getfattr dump (what setfattr --restore reads). */
const escape = (s: string): string =>
  [...Buffer.from(s, 'utf8')]
    .map((b) => (b < 0x21 || b > 0x7e || b === 0x5c ? `\\${b.toString(8).padStart(3, '0')}` : String.fromCharCode(b)))
    .join('');

function parseDump(out: string): Map<string, Xattrs> {
  const result = new Map<string, Xattrs>();
  let cur: Xattrs | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = new Map();
      result.set(unescape(line.slice(8)), cur);
    } else if (cur && line.includes('=')) {
      const i = line.indexOf('=');
      const v = line.slice(i + 1);
      cur.set(line.slice(0, i), v.startsWith('0x') ? Buffer.from(v.slice(2), 'hex') : v.startsWith('0s') ? Buffer.from(v.slice(2), 'base64') : Buffer.from(v.replace(/^"|"$/g, '')));
    } else if (cur && /^[^#\s].*/.test(line)) {
      cur.set(line.trim(), Buffer.alloc(0));
    }
  }
  return result;
}

/** The xattrs of one path (not following a final symlink). */
export async function getXattrs(p: string): Promise<Xattrs> {
  const out = await run('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', p], { okCodes: [1] });
  return parseDump(out).get(p) ?? new Map();
}

/** The xattrs of every path below dir that has any, keyed by path relative to dir ("" is dir itself). */
export async function getXattrsTree(dir: string): Promise<Map<string, Xattrs>> {
  const abs = path.resolve(dir);
  const out = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', abs], { okCodes: [1] });
  const result = new Map<string, Xattrs>();
  for (const [p, x] of parseDump(out)) result.set(path.relative(abs, p), x);
  return result;
}

/** Sets xattrs on many paths in one setfattr run. */
export async function setXattrs(entries: Array<[string, Xattrs]>): Promise<void> {
  const lines: string[] = [];
  for (const [p, x] of entries) {
    if (x.size === 0) continue;
    lines.push(`# file: ${escape(p)}`);
    for (const [k, v] of x) lines.push(`${k}=0x${v.toString('hex')}`);
    lines.push('');
  }
  if (lines.length === 0) return;
  await run('setfattr', ['-h', '--restore=-'], { input: lines.join('\n') + '\n' });
}

export async function setXattr(p: string, name: string, value: Buffer | string): Promise<void> {
  await setXattrs([[p, new Map([[name, Buffer.from(value)]])]]);
}
