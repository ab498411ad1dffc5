/**
 * Tar headers: ustar + PAX (POSIX.1-2001) + GNU long names, what Go's
 * archive/tar reads and writes for OCI layers.
 *
 * Written here rather than taken from tar-stream or node-tar: both decode and
 * encode PAX records as UTF-8 text, which loses binary xattr values
 * (SCHILY.xattr.security.capability), and neither exposes its codec to fix it.
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';

export const BLOCK = 512;

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, possibly fractional (PAX mtime). */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  uname?: string;
  gname?: string;
  /** Extended attributes (SCHILY.xattr.*), raw bytes. */
  xattrs: Map<string, Buffer>;
}

const TYPE_FLAGS: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};
const FLAG_OF: Record<EntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

export const XATTR_PREFIX = 'SCHILY.xattr.';

/** Raw header fields as read from one block, before PAX/GNU records apply. */
export interface RawHeader {
  flag: string;
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
}

function str(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

/** An octal or base-256 (GNU, high bit set) number field. */
function num(buf: Buffer, off: number, len: number): number {
  if (buf[off] & 0x80) {
    let v = buf[off] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[off + i];
    return v;
  }
  const s = buf.toString('latin1', off, off + len).replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new InvalidArgumentError(`invalid tar header: bad number ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum;
}

/** Parses one header block; null for an all-zero block (the end of the archive). */
export function parseHeaderBlock(block: Buffer): RawHeader | null {
  if (block.every((b) => b === 0)) return null;
  let sum: number;
  try {
    sum = num(block, 148, 8);
  } catch {
    sum = -1;
  }
  if (sum !== checksum(block)) {
    throw new InvalidArgumentError('invalid tar header: checksum mismatch (not a tar, or still compressed?)');
  }
  let name = str(block, 0, 100);
  const magic = block.toString('latin1', 257, 263);
  if (magic === 'ustar\0' && block[345] !== 0) name = `${str(block, 345, 155)}/${name}`;
  return {
    flag: String.fromCharCode(block[156]),
    name,
    mode: num(block, 100, 8),
    uid: num(block, 108, 8),
    gid: num(block, 116, 8),
    size: num(block, 124, 12),
    mtime: num(block, 136, 12),
    linkname: str(block, 157, 100),
    devmajor: num(block, 329, 8),
    devminor: num(block, 337, 8),
    uname: str(block, 265, 32),
    gname: str(block, 297, 32),
  };
}

/** PAX records: key → raw value bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let rest = buf;
  while (rest.length > 0) {
    const sp = rest.indexOf(0x20);
    const len = sp > 0 ? parseInt(rest.toString('latin1', 0, sp), 10) : NaN;
    if (!(len > sp + 1) || len > rest.length || rest[len - 1] !== 0x0a) {
      if (rest.every((b) => b === 0)) break;
      throw new InvalidArgumentError('invalid tar: malformed PAX record');
    }
    const rec = rest.subarray(sp + 1, len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw new InvalidArgumentError('invalid tar: PAX record without "="');
    out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    rest = rest.subarray(len);
  }
  return out;
}

/** Applies PAX records (and GNU long names) to a raw header. */
export function finishHeader(raw: RawHeader, pax: Map<string, Buffer>, longName?: string, longLink?: string): TarHeader {
  const type = TYPE_FLAGS[raw.flag];
  if (!type) throw new InvalidArgumentError(`unhandled tar header type ${JSON.stringify(raw.flag)} for ${JSON.stringify(raw.name)}`);
  const h: TarHeader = {
    name: longName ?? raw.name,
    type,
    mode: raw.mode & 0o7777,
    uid: raw.uid,
    gid: raw.gid,
    size: type === 'file' ? raw.size : 0,
    mtime: raw.mtime,
    linkname: longLink ?? raw.linkname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    uname: raw.uname,
    gname: raw.gname,
    xattrs: new Map(),
  };
  for (const [k, v] of pax) {
    const s = (): string => v.toString('utf8');
    if (k === 'path') h.name = s();
    else if (k === 'linkpath') h.linkname = s();
    else if (k === 'size' && type === 'file') h.size = parseInt(s(), 10);
    else if (k === 'uid') h.uid = parseInt(s(), 10);
    else if (k === 'gid') h.gid = parseInt(s(), 10);
    else if (k === 'mtime') h.mtime = parseFloat(s());
    else if (k === 'uname') h.uname = s();
    else if (k === 'gname') h.gname = s();
    else if (k.startsWith(XATTR_PREFIX)) h.xattrs.set(k.slice(XATTR_PREFIX.length), v);
  }
  if (!Number.isSafeInteger(h.size) || h.size < 0) throw new InvalidArgumentError(`invalid tar: bad size for ${JSON.stringify(h.name)}`);
  return h;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + String(body.length).length;
  if (String(len).length !== String(body.length).length) len = body.length + String(len).length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function block(fields: { name: string; flag: string; mode: number; uid: number; gid: number; size: number; mtime: number; linkname: string; devmajor: number; devminor: number; prefix?: string; uname?: string; gname?: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(fields.name, 0, 100, 'utf8');
  octal(b, 100, 8, fields.mode);
  octal(b, 108, 8, fields.uid);
  octal(b, 116, 8, fields.gid);
  octal(b, 124, 12, fields.size);
  octal(b, 136, 12, Math.floor(fields.mtime));
  b.write(fields.flag, 156, 1, 'latin1');
  b.write(fields.linkname, 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'latin1');
  if (fields.uname) b.write(fields.uname, 265, 32, 'utf8');
  if (fields.gname) b.write(fields.gname, 297, 32, 'utf8');
  octal(b, 329, 8, fields.devmajor);
  octal(b, 337, 8, fields.devminor);
  if (fields.prefix) b.write(fields.prefix, 345, 155, 'utf8');
  b.write(checksum(b).toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

const fitsUstar = (s: string, len: number): boolean => Buffer.byteLength(s) <= len && /^[\x20-\x7e]*$/.test(s);

/** Splits a long name into ustar prefix/name when possible. */
function splitName(name: string): { prefix: string; name: string } | undefined {
  if (fitsUstar(name, 100)) return { prefix: '', name };
  if (!/^[\x20-\x7e]*$/.test(name)) return undefined;
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const p = name.slice(0, i);
    const n = name.slice(i + 1);
    if (p.length <= 155 && n.length > 0 && n.length <= 100) return { prefix: p, name: n };
  }
  return undefined;
}

/** Encodes a header (with a PAX record block first when ustar cannot hold it). */
export function encodeHeader(h: TarHeader): Buffer {
  const MAX8 = 0o7777777;
  const pax: Buffer[] = [];
  const split = splitName(h.name);
  if (!split) pax.push(paxRecord('path', Buffer.from(h.name, 'utf8')));
  if (h.linkname && !fitsUstar(h.linkname, 100)) pax.push(paxRecord('linkpath', Buffer.from(h.linkname, 'utf8')));
  if (h.uid > MAX8) pax.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (h.gid > MAX8) pax.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (h.size > 0o77777777777) pax.push(paxRecord('size', Buffer.from(String(h.size))));
  for (const [k, v] of [...h.xattrs].sort(([a], [b]) => (a < b ? -1 : 1))) pax.push(paxRecord(XATTR_PREFIX + k, v));
  const main = block({
    name: split ? split.name : h.name.slice(0, 99).replace(/[^\x20-\x7e]/g, '_'),
    prefix: split?.prefix,
    flag: FLAG_OF[h.type],
    mode: h.mode & 0o7777,
    uid: Math.min(h.uid, MAX8),
    gid: Math.min(h.gid, MAX8),
    size: h.type === 'file' ? Math.min(h.size, 0o77777777777) : 0,
    mtime: h.mtime,
    linkname: fitsUstar(h.linkname, 100) ? h.linkname : '',
    devmajor: h.devmajor,
    devminor: h.devminor,
    uname: h.uname,
    gname: h.gname,
  });
  if (pax.length === 0) return main;
  const data = Buffer.concat(pax);
  const paxHeader = block({
    name: 'PaxHeaders/' + (split ? split.name : 'entry').slice(0, 80),
    flag: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: h.mtime,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, data, Buffer.alloc(padding(data.length)), main]);
}

export const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;
