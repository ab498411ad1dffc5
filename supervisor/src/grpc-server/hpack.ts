/**
 * HPACK (RFC 7541) for berthd's HTTP/2 server: a decoder that keeps the
 * peer's dynamic table (one per connection), and a stateless encoder that
 * never indexes, so the table size the peer grants us never matters.
 *
 * Names and values are 'latin1' strings: one char per octet, so any octets
 * (binary "-bin" values included) survive, and string length is octet length,
 * which the table's size accounting counts. Checking names and values against
 * HTTP/2's rules (lowercase names, no CR/LF/NUL) is the caller's job, and
 * never-indexed fields (6.2.3) come out like any other: berthd re-encodes none.
 */
import { HUFFMAN_BAD_PADDING, HUFFMAN_EOS, huffmanDecode, huffmanMaxDecodedLength } from './hpack-huffman';

/**
 * Malformed input. For a decoder this is a COMPRESSION_ERROR (RFC 7540 4.3):
 * its table may now differ from the peer's, so the connection must go.
 */
export class HpackError extends Error {
  constructor(message = 'malformed header block', options?: { cause?: unknown }) {
    super(`hpack: ${message}`, options);
    this.name = 'HpackError';
  }
}

/**
 * The block's header list exceeded maxHeaderListSize. Thrown only after the
 * whole block was decoded, so the dynamic table is still in step with the
 * peer's (RFC 7540 10.5.1): the caller may refuse just the stream (431,
 * gRPC RESOURCE_EXHAUSTED) and keep the connection.
 */
export class HeaderListTooLargeError extends HpackError {
  constructor(readonly size: number, readonly limit: number) {
    super(`header list of ${size} octets exceeds the limit of ${limit}`);
    this.name = 'HeaderListTooLargeError';
  }
}

/** Header fields in wire order, names and values as 'latin1' strings. */
export type HeaderList = Array<[string, string]>;

/** RFC 7541 Appendix A: index i + 1 is STATIC_TABLE[i]. */
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

const STATIC_LEN = STATIC_TABLE.length; // 61

/** The size of an entry (RFC 7541 4.1) and of a field in a header list (RFC 7540 6.5.2). */
const entrySize = (name: string, value: string): number => 32 + name.length + value.length;

/** Integers are rejected at 2^31 and after this many continuation octets (some of which may be zero padding). */
const MAX_INTEGER = 0x7fffffff;
const MAX_CONTINUATION_OCTETS = 6;

/**
 * The dynamic table (RFC 7541 2.3.2, 4): a ring of names and values, newest
 * at `head`; entry i (0 = newest) is HPACK index 62 + i.
 */
class DynamicTable {
  private names: string[] = new Array<string>(16).fill('');
  private values: string[] = new Array<string>(16).fill('');
  private head = 0;
  count = 0;
  size = 0;

  constructor(public maxSize: number) {}

  name(i: number): string {
    return this.names[(this.head + i) & (this.names.length - 1)];
  }

  value(i: number): string {
    return this.values[(this.head + i) & (this.values.length - 1)];
  }

  /** Adds an entry, evicting the oldest first; an entry bigger than the table empties it (RFC 7541 4.4). */
  add(name: string, value: string): void {
    const size = entrySize(name, value);
    while (this.count > 0 && this.size + size > this.maxSize) this.evict();
    if (size > this.maxSize) return;
    if (this.count === this.names.length) this.grow();
    const mask = this.names.length - 1;
    this.head = (this.head - 1) & mask;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.count++;
    this.size += size;
  }

  /** Applies a dynamic table size update (RFC 7541 4.3, 6.3). */
  resize(maxSize: number): void {
    this.maxSize = maxSize;
    while (this.size > maxSize) this.evict();
  }

  private evict(): void {
    const i = (this.head + this.count - 1) & (this.names.length - 1);
    this.size -= entrySize(this.names[i], this.values[i]);
    this.names[i] = this.values[i] = ''; // drop the strings for the GC
    this.count--;
  }

  /** Doubles the ring (lengths stay powers of two), oldest entries last as before. */
  private grow(): void {
    const names = new Array<string>(this.names.length * 2).fill('');
    const values = new Array<string>(this.values.length * 2).fill('');
    for (let i = 0; i < this.count; i++) {
      names[i] = this.name(i);
      values[i] = this.value(i);
    }
    this.names = names;
    this.values = values;
    this.head = 0;
  }
}

/** Huffman output goes here before it becomes a string; shared, as decoding is synchronous. */
let scratch = Buffer.allocUnsafe(4096);

const EMPTY = Buffer.alloc(0);

/** Reads the primitive types (RFC 7541 5) from a block, advancing pos; every overrun is an HpackError. */
class Reader {
  buf: Buffer = EMPTY;
  pos = 0;

  /** An integer with an n-bit prefix (5.1); the flag bits above the prefix are ignored. */
  integer(n: number): number {
    const buf = this.buf;
    if (this.pos >= buf.length) throw new HpackError('truncated integer');
    const mask = (1 << n) - 1;
    let value = buf[this.pos++] & mask;
    if (value < mask) return value;
    let scale = 1;
    for (let octets = 0; ; octets++) {
      if (octets === MAX_CONTINUATION_OCTETS) throw new HpackError(`integer longer than ${MAX_CONTINUATION_OCTETS} continuation octets`);
      if (this.pos >= buf.length) throw new HpackError('truncated integer');
      const b = buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (value > MAX_INTEGER) throw new HpackError('integer exceeds 2^31 - 1');
      if ((b & 0x80) === 0) return value;
      scale *= 128;
    }
  }

  /** A string literal (5.2), raw or Huffman-coded. */
  string(): string {
    const buf = this.buf;
    if (this.pos >= buf.length) throw new HpackError('truncated block: string literal expected');
    const huffman = buf[this.pos] & 0x80;
    const len = this.integer(7);
    const start = this.pos;
    const end = start + len;
    if (end > buf.length) throw new HpackError(`truncated string literal: ${len} octets announced, ${buf.length - start} left`);
    this.pos = end;
    if (!huffman) return buf.toString('latin1', start, end);
    const max = huffmanMaxDecodedLength(len);
    if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
    const n = huffmanDecode(buf, start, end, scratch);
    if (n === HUFFMAN_EOS) throw new HpackError('EOS inside a Huffman-coded string');
    if (n === HUFFMAN_BAD_PADDING) throw new HpackError('Huffman padding longer than 7 bits or not all ones');
    return scratch.toString('latin1', 0, n);
  }
}

export interface HpackDecoderOptions {
  /**
   * SETTINGS_HEADER_TABLE_SIZE we advertise: the table's initial size and the
   * most a size update may ask for. Default 4096. Below 4096 it holds from the
   * first block, whereas a client may send blocks before it has our SETTINGS.
   */
  maxTableSize?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we enforce, counted as RFC 7540 6.5.2 (name + value + 32 per field). Default 64 KiB. */
  maxHeaderListSize?: number;
}

export class HpackDecoder {
  private readonly maxTableSize: number;
  private readonly maxHeaderListSize: number;
  private readonly table: DynamicTable;
  private readonly r = new Reader();
  private failed = false;

  constructor(opts: HpackDecoderOptions = {}) {
    this.maxTableSize = opts.maxTableSize ?? 4096;
    this.maxHeaderListSize = opts.maxHeaderListSize ?? 64 * 1024;
    this.table = new DynamicTable(this.maxTableSize);
  }

  /** Current size of the dynamic table in octets (RFC 7541 4.1). */
  get tableSize(): number {
    return this.table.size;
  }

  /** Current maximum size of the dynamic table, as last set by the peer's size update. */
  get tableMaxSize(): number {
    return this.table.maxSize;
  }

  /** The dynamic table's entries, newest (index 62) first, as RFC 7541 Appendix C lists them. */
  dynamicTable(): HeaderList {
    const out: HeaderList = [];
    for (let i = 0; i < this.table.count; i++) out.push([this.table.name(i), this.table.value(i)]);
    return out;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads
   * concatenated). Keeps the dynamic table across calls (one decoder per
   * connection). After an HpackError other than HeaderListTooLargeError the
   * decoder refuses further blocks: its table can no longer be trusted.
   */
  decode(block: Buffer): HeaderList {
    if (this.failed) throw new HpackError('decoder unusable after an earlier compression error');
    this.failed = true;
    const r = this.r;
    r.buf = block;
    r.pos = 0;
    const out: HeaderList = [];
    let listSize = 0;
    let fields = false;
    while (r.pos < block.length) {
      const b = block[r.pos];
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed header field (6.1).
        const index = r.integer(7);
        if (index === 0) throw new HpackError('indexed header field with index 0');
        name = this.name(index);
        value = index <= STATIC_LEN ? STATIC_TABLE[index - 1][1] : this.table.value(index - STATIC_LEN - 1);
      } else if (b & 0x40) {
        // Literal with incremental indexing (6.2.1).
        const index = r.integer(6);
        name = index === 0 ? r.string() : this.name(index);
        value = r.string();
        this.table.add(name, value);
      } else if (b & 0x20) {
        // Dynamic table size update (6.3): only before the block's first field (4.2).
        if (fields) throw new HpackError('dynamic table size update after a header field');
        const size = r.integer(5);
        if (size > this.maxTableSize) throw new HpackError(`dynamic table size update to ${size} exceeds the limit of ${this.maxTableSize}`);
        this.table.resize(size);
        continue;
      } else {
        // Literal without indexing (6.2.2, 0000) or never indexed (6.2.3, 0001).
        const index = r.integer(4);
        name = index === 0 ? r.string() : this.name(index);
        value = r.string();
      }
      fields = true;
      // Past the limit the block is still decoded to the end, keeping the table in step, but no longer collected.
      listSize += entrySize(name, value);
      if (listSize <= this.maxHeaderListSize) out.push([name, value]);
    }
    r.buf = EMPTY; // do not pin the caller's buffer
    this.failed = false;
    if (listSize > this.maxHeaderListSize) throw new HeaderListTooLargeError(listSize, this.maxHeaderListSize);
    return out;
  }

  /** The name at an index of either table; 0 is the caller's to reject or mean "literal". */
  private name(index: number): string {
    if (index <= STATIC_LEN) return STATIC_TABLE[index - 1][0];
    const i = index - STATIC_LEN - 1;
    if (i >= this.table.count) throw new HpackError(`index ${index} out of range (${this.table.count} dynamic entries)`);
    return this.table.name(i);
  }
}

/** Static table indexes for the encoder: name → first index, and name + value → index. */
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_FIELD_INDEX = new Map<string, Map<string, number>>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
  let values = STATIC_FIELD_INDEX.get(name);
  if (!values) STATIC_FIELD_INDEX.set(name, (values = new Map()));
  values.set(value, i + 1);
});

/** Octets an integer takes with an n-bit prefix. */
function integerLength(value: number, n: number): number {
  const mask = (1 << n) - 1;
  if (value < mask) return 1;
  let len = 2;
  for (value -= mask; value >= 128; value = Math.floor(value / 128)) len++;
  return len;
}

/** Writes an integer with an n-bit prefix at off, or-ing flags into its first octet (RFC 7541 5.1); returns the next offset. */
function writeInteger(buf: Buffer, off: number, value: number, n: number, flags: number): number {
  const mask = (1 << n) - 1;
  if (value < mask) {
    buf[off++] = flags | value;
    return off;
  }
  buf[off++] = flags | mask;
  for (value -= mask; value >= 128; value = Math.floor(value / 128)) buf[off++] = (value % 128) | 0x80;
  buf[off++] = value;
  return off;
}

/** Encodes an integer with an n-bit prefix (1 to 8), flags in the bits above it. */
export function encodeInteger(value: number, n: number, flags = 0): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > MAX_INTEGER) throw new RangeError(`hpack: cannot encode integer ${value}`);
  const buf = Buffer.allocUnsafe(integerLength(value, n));
  writeInteger(buf, 0, value, n, flags);
  return buf;
}

/** Decodes an integer with an n-bit prefix at the start of buf; length is the octets it took. */
export function decodeInteger(buf: Buffer, n: number): { value: number; length: number } {
  const r = new Reader();
  r.buf = buf;
  const value = r.integer(n);
  return { value, length: r.pos };
}

const NOT_LATIN1 = /[^\u0000-\u00ff]/;

const stringLength = (s: string): number => integerLength(s.length, 7) + s.length;

/**
 * Encodes a header list statelessly: never adds to the dynamic table, so the
 * peer's table size never matters. A full static match (name and value)
 * becomes an indexed field; a name match, a literal without indexing with
 * the indexed name; anything else, a literal without indexing with a literal
 * name. Strings are not Huffman-coded. Throws HpackError for a name or value
 * with a char above U+00FF, which 'latin1' could not carry.
 */
export function encodeHeaders(headers: HeaderList): Buffer {
  let size = 0;
  for (const [name, value] of headers) {
    if (NOT_LATIN1.test(name) || NOT_LATIN1.test(value)) throw new HpackError(`header ${JSON.stringify(name)} is not latin1`);
    const full = STATIC_FIELD_INDEX.get(name)?.get(value);
    if (full !== undefined) size += integerLength(full, 7);
    else {
      const index = STATIC_NAME_INDEX.get(name);
      size += (index !== undefined ? integerLength(index, 4) : 1 + stringLength(name)) + stringLength(value);
    }
  }
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  for (const [name, value] of headers) {
    const full = STATIC_FIELD_INDEX.get(name)?.get(value);
    if (full !== undefined) {
      off = writeInteger(buf, off, full, 7, 0x80);
      continue;
    }
    const index = STATIC_NAME_INDEX.get(name);
    if (index !== undefined) off = writeInteger(buf, off, index, 4, 0x00);
    else {
      buf[off++] = 0x00;
      off = writeInteger(buf, off, name.length, 7, 0x00);
      off += buf.write(name, off, 'latin1');
    }
    off = writeInteger(buf, off, value.length, 7, 0x00);
    off += buf.write(value, off, 'latin1');
  }
  return buf;
}
