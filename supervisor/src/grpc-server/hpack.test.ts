import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decodeInteger,
  encodeHeaders,
  encodeInteger,
  HeaderList,
  HeaderListTooLargeError,
  HpackDecoder,
  HpackError,
  STATIC_TABLE,
} from './hpack';
import {
  EOS,
  HUFFMAN_BAD_PADDING,
  HUFFMAN_CODES,
  HUFFMAN_EOS,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  huffmanEncode,
  huffmanMaxDecodedLength,
} from './hpack-huffman';

/** Bytes from a hex dump as the RFC prints it ("8286 8441 ..."). */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

function huffDecode(b: Buffer): string | number {
  const out = Buffer.alloc(huffmanMaxDecodedLength(b.length));
  const n = huffmanDecode(b, 0, b.length, out);
  return n < 0 ? n : out.toString('latin1', 0, n);
}

/** A deterministic PRNG (mulberry32), so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('huffman code (RFC 7541 Appendix B)', () => {
  it('the canonical codes built from the lengths are the RFC\'s', () => {
    // [symbol, code as hex aligned to LSB, len in bits], copied from Appendix B.
    const listed: Array<[number, number, number]> = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [13, 0x3ffffffd, 30],
      [22, 0x3ffffffe, 30],
      [32, 0x14, 6],
      [33, 0x3f8, 10],
      [47, 0x18, 6],
      [48, 0x0, 5],
      [58, 0x5c, 7],
      [60, 0x7ffc, 15],
      [88, 0xfc, 8],
      [92, 0x7fff0, 19],
      [97, 0x3, 5],
      [122, 0x7b, 7],
      [126, 0x1ffd, 13],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [153, 0x1fffdc, 21],
      [195, 0x7fff1, 19],
      [199, 0x1ffffec, 25],
      [203, 0x7ffffde, 27],
      [220, 0xffffffd, 28],
      [249, 0xffffffe, 28],
      [254, 0x7fffff0, 27],
      [255, 0x3ffffee, 26],
      [EOS, 0x3fffffff, 30],
    ];
    for (const [sym, code, len] of listed) {
      expect([sym, HUFFMAN_CODES[sym], HUFFMAN_LENGTHS[sym]]).toEqual([sym, code, len]);
    }
  });

  it('is a complete prefix code: the Kraft sum is exactly 1', () => {
    let sum = 0;
    for (const len of HUFFMAN_LENGTHS) sum += 2 ** -len;
    expect(sum).toBe(1);
    expect(HUFFMAN_LENGTHS.length).toBe(257);
  });

  it('encodes and decodes the strings of Appendix C.4 and C.6', () => {
    const pairs: Array<[string, string]> = [
      ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
      ['no-cache', 'a8eb 1064 9cbf'],
      ['custom-key', '25a8 49e9 5ba9 7d7f'],
      ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
      ['302', '6402'],
      ['307', '640e ff'],
      ['private', 'aec3 771a 4b'],
      ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
      ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
      ['gzip', '9bd9 ab'],
      [
        'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
        '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
      ],
    ];
    for (const [text, coded] of pairs) {
      expect(huffmanEncode(latin1(text)).toString('hex')).toBe(hex(coded).toString('hex'));
      expect(huffDecode(hex(coded))).toBe(text);
    }
  });

  it('round-trips every octet, alone and all together', () => {
    const all = Buffer.alloc(256);
    for (let b = 0; b < 256; b++) {
      all[b] = b;
      expect(huffDecode(huffmanEncode(Buffer.from([b])))).toBe(String.fromCharCode(b));
    }
    expect(huffDecode(huffmanEncode(all))).toBe(all.toString('latin1'));
    expect(huffDecode(Buffer.alloc(0))).toBe('');
  });

  it('accepts up to 7 bits of all-ones padding', () => {
    expect(huffDecode(hex('07'))).toBe('0'); // 00000 111
    expect(huffDecode(hex('1f'))).toBe('a'); // 00011 111
    expect(huffDecode(hex('18 ff'))).toBe('aa'); // 00011 00011 111111
    expect(huffDecode(hex('0000 007f'))).toBe('00000'); // 5 x 00000, 1111111
  });

  it('rejects EOS inside the string, padding over 7 bits, and padding that is not all ones', () => {
    expect(huffDecode(hex('ffff ffff'))).toBe(HUFFMAN_EOS); // EOS, then 2 bits of padding
    expect(huffDecode(hex('1fff ffff ff'))).toBe(HUFFMAN_EOS); // 'a', EOS, 5 bits of padding
    expect(huffDecode(hex('ff'))).toBe(HUFFMAN_BAD_PADDING); // 8 bits of padding
    expect(huffDecode(hex('1f ff'))).toBe(HUFFMAN_BAD_PADDING); // 'a', 11 bits of padding
    expect(huffDecode(hex('18'))).toBe(HUFFMAN_BAD_PADDING); // 'a', then 000
    expect(huffDecode(hex('00'))).toBe(HUFFMAN_BAD_PADDING); // '0', then 000
    expect(huffDecode(hex('fe'))).toBe(HUFFMAN_BAD_PADDING); // 1111111 0: an unfinished 8-bit prefix
  });
});

describe('integers (RFC 7541 5.1, C.1)', () => {
  it('C.1.1: 10 with a 5-bit prefix', () => {
    expect(encodeInteger(10, 5).toString('hex')).toBe('0a');
    expect(decodeInteger(hex('0a'), 5)).toEqual({ value: 10, length: 1 });
  });

  it('C.1.2: 1337 with a 5-bit prefix', () => {
    expect(encodeInteger(1337, 5).toString('hex')).toBe('1f9a0a');
    expect(decodeInteger(hex('1f9a0a'), 5)).toEqual({ value: 1337, length: 3 });
  });

  it('C.1.3: 42 at an octet boundary (8-bit prefix)', () => {
    expect(encodeInteger(42, 8).toString('hex')).toBe('2a');
    expect(decodeInteger(hex('2a'), 8)).toEqual({ value: 42, length: 1 });
  });

  it('the decoder reads them in size updates (5-bit prefix) and ignores the flag bits', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('3f9a0a'))).toEqual([]);
    expect(d.tableMaxSize).toBe(1337);
    expect(d.decode(hex('2a'))).toEqual([]);
    expect(d.tableMaxSize).toBe(10);
    expect(decodeInteger(hex('ea'), 5)).toEqual({ value: 10, length: 1 });
  });

  it('round-trips the prefix boundaries for every prefix size, up to 2^31 - 1', () => {
    for (let n = 1; n <= 8; n++) {
      const m = (1 << n) - 1;
      for (const v of [0, m - 1, m, m + 1, m + 127, m + 128, 2 ** 14, 2 ** 21 + 5, 2 ** 31 - 1]) {
        const b = encodeInteger(v, n, n < 8 ? 0x100 - (1 << n) : 0);
        expect(decodeInteger(b, n)).toEqual({ value: v, length: b.length });
      }
    }
  });

  it('rejects truncation, overflow past 2^31 - 1, and more than 6 continuation octets', () => {
    expect(() => decodeInteger(hex(''), 7)).toThrow(HpackError);
    expect(() => decodeInteger(hex('7f'), 7)).toThrow(/truncated integer/);
    expect(() => decodeInteger(hex('7f ff'), 7)).toThrow(/truncated integer/);
    expect(decodeInteger(hex('7f 80 80 80 80 80 00'), 7)).toEqual({ value: 127, length: 7 }); // 6 octets, zero-padded
    expect(() => decodeInteger(hex('7f 80 80 80 80 80 80 00'), 7)).toThrow(/continuation octets/);
    expect(decodeInteger(hex('7f 80 ff ff ff 07'), 7)).toEqual({ value: 2 ** 31 - 1, length: 6 });
    expect(() => decodeInteger(hex('7f 81 ff ff ff 07'), 7)).toThrow(/exceeds 2\^31/);
    expect(() => decodeInteger(hex('7f ff ff ff ff 0f'), 7)).toThrow(/exceeds 2\^31/);
  });
});

describe('HpackDecoder: RFC 7541 Appendix C', () => {
  it('C.2.1 literal header field with indexing', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).toEqual([['custom-key', 'custom-header']]);
    expect(d.dynamicTable()).toEqual([['custom-key', 'custom-header']]);
    expect(d.tableSize).toBe(55);
  });

  it('C.2.2 literal header field without indexing', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([[':path', '/sample/path']]);
    expect(d.dynamicTable()).toEqual([]);
  });

  it('C.2.3 literal header field never indexed', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual([['password', 'secret']]);
    expect(d.dynamicTable()).toEqual([]);
  });

  it('C.2.4 indexed header field', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('82'))).toEqual([[':method', 'GET']]);
    expect(d.dynamicTable()).toEqual([]);
  });

  const requests: Array<{ list: HeaderList; table: HeaderList; size: number }> = [
    {
      list: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
      table: [[':authority', 'www.example.com']],
      size: 57,
    },
    {
      list: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
      table: [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
      size: 110,
    },
    {
      list: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
      table: [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
      size: 164,
    },
  ];

  it.each([
    ['C.3 requests without Huffman', [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ]],
    ['C.4 requests with Huffman', [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ]],
  ])('%s', (_, blocks) => {
    const d = new HpackDecoder();
    blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(requests[i].list);
      expect(d.dynamicTable()).toEqual(requests[i].table);
      expect(d.tableSize).toBe(requests[i].size);
    });
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const location = 'https://www.example.com';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const responses: Array<{ list: HeaderList; table: HeaderList; size: number }> = [
    {
      list: [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', location]],
      table: [['location', location], ['date', date1], ['cache-control', 'private'], [':status', '302']],
      size: 222,
    },
    {
      list: [[':status', '307'], ['cache-control', 'private'], ['date', date1], ['location', location]],
      table: [[':status', '307'], ['location', location], ['date', date1], ['cache-control', 'private']],
      size: 222,
    },
    {
      list: [
        [':status', '200'],
        ['cache-control', 'private'],
        ['date', date2],
        ['location', location],
        ['content-encoding', 'gzip'],
        ['set-cookie', cookie],
      ],
      table: [['set-cookie', cookie], ['content-encoding', 'gzip'], ['date', date2]],
      size: 215,
    },
  ];

  it.each([
    ['C.5 responses without Huffman', [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d
       546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f
       6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b
       2076 6572 7369 6f6e 3d31`,
    ]],
    ['C.6 responses with Huffman', [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7
       8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335
       dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ]],
  ])('%s (SETTINGS_HEADER_TABLE_SIZE 256, with evictions)', (_, blocks) => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(responses[i].list);
      expect(d.dynamicTable()).toEqual(responses[i].table);
      expect(d.tableSize).toBe(responses[i].size);
    });
  });
});

describe('HpackDecoder: the dynamic table', () => {
  it('evicts the oldest entries, empties itself for an entry bigger than the table, and shrinks on a size update', () => {
    const d = new HpackDecoder({ maxTableSize: 100 });
    // Literal with incremental indexing, literal name: 40 len name len value.
    const add = (n: string, v: string) => Buffer.concat([hex('40'), encodeInteger(n.length, 7), latin1(n), encodeInteger(v.length, 7), latin1(v)]);
    d.decode(add('a', 'x'.repeat(10))); // 43
    d.decode(add('b', 'y'.repeat(10))); // 43, total 86
    expect(d.dynamicTable().map(([n]) => n)).toEqual(['b', 'a']);
    d.decode(add('c', '')); // 33: 'a' goes
    expect(d.dynamicTable().map(([n]) => n)).toEqual(['c', 'b']);
    expect(d.tableSize).toBe(76);
    expect(d.decode(hex('be bf'))).toEqual([['c', ''], ['b', 'y'.repeat(10)]]);
    expect(() => new HpackDecoder({ maxTableSize: 100 }).decode(hex('c0'))).toThrow(/index 64 out of range/);
    d.decode(add('big', 'z'.repeat(70))); // 105 > 100: the table empties, the field is still returned
    expect(d.dynamicTable()).toEqual([]);
    expect(d.tableSize).toBe(0);
    d.decode(add('d', 'w'.repeat(20))); // 53
    d.decode(add('e', '')); // 33
    expect(d.decode(hex('3f 0f'))).toEqual([]); // size update to 46: 'd' goes
    expect(d.dynamicTable()).toEqual([['e', '']]);
    expect(d.decode(hex('20'))).toEqual([]); // size update to 0 empties it
    expect(d.dynamicTable()).toEqual([]);
  });

  it('evicts only past the maximum: an exact fit keeps every entry', () => {
    const add = (n: string, v: string) => Buffer.concat([hex('40'), encodeInteger(n.length, 7), latin1(n), encodeInteger(v.length, 7), latin1(v)]);
    const exact = new HpackDecoder({ maxTableSize: 100 });
    exact.decode(Buffer.concat([add('a', 'x'.repeat(10)), add('b', 'y'.repeat(24))])); // 43 + 57 = 100
    expect(exact.dynamicTable().map(([n]) => n)).toEqual(['b', 'a']);
    expect(exact.tableSize).toBe(100);
    const over = new HpackDecoder({ maxTableSize: 100 });
    over.decode(Buffer.concat([add('a', 'x'.repeat(10)), add('b', 'y'.repeat(25))])); // 43 + 58 = 101
    expect(over.dynamicTable().map(([n]) => n)).toEqual(['b']);
    expect(over.tableSize).toBe(58);
  });

  it('grows its ring past 16 entries and keeps the order', () => {
    const d = new HpackDecoder({ maxTableSize: 4096 });
    const names = Array.from({ length: 100 }, (_, i) => `n${i}`);
    for (const n of names) d.decode(Buffer.concat([hex('40'), encodeInteger(n.length, 7), latin1(n), hex('00')]));
    expect(d.dynamicTable().map(([n]) => n)).toEqual([...names].reverse());
    expect(d.tableSize).toBe(names.reduce((s, n) => s + 32 + n.length, 0));
    expect(d.decode(hex('be ff 22'))).toEqual([['n99', ''], ['n0', '']]); // 62, and 62 + 99 = 161 = 127 + 34
  });

  it('allows several size updates at the start of a block (RFC 7541 4.2)', () => {
    const d = new HpackDecoder();
    d.decode(hex('4001 6101 62')); // a: b
    expect(d.decode(hex('20 3fe1 1f 82'))).toEqual([[':method', 'GET']]); // 0, then 4096
    expect(d.dynamicTable()).toEqual([]);
    expect(d.tableMaxSize).toBe(4096);
  });

  it('decodes an empty block', () => {
    expect(new HpackDecoder().decode(Buffer.alloc(0))).toEqual([]);
  });

  it('keeps names and values byte for byte as latin1 strings', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const block = Buffer.concat([hex('00 05'), latin1('x-bin'), encodeInteger(256, 7), bytes]);
    const [[name, value]] = new HpackDecoder().decode(block);
    expect(name).toBe('x-bin');
    expect(latin1(value).equals(bytes)).toBe(true);
  });
});

describe('HpackDecoder: malformed input throws HpackError', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['index 0', '80', /index 0/],
    ['indexed field beyond the static table, dynamic table empty', 'be', /index 62 out of range/],
    ['indexed field far beyond', 'ff 80 01', /out of range/],
    ['literal with an indexed name beyond the tables', '7f 00 01 61', /index 63 out of range/],
    ['truncated integer (prefix full, no continuation)', 'ff', /truncated integer/],
    ['truncated integer (continuation flag set)', 'ff 81', /truncated integer/],
    ['truncated size update', '3f', /truncated integer/],
    ['literal without its name', '40', /string literal expected/],
    ['literal without its value', '41', /string literal expected/],
    ['truncated raw string', '400a 6375 7374', /truncated string literal: 10 octets announced, 4 left/],
    ['truncated Huffman string', '418c f1e3 c2e5', /truncated string literal/],
    ['string length overflowing', '417f ffff ffff 0f', /exceeds 2\^31/],
    ['Huffman padding not all ones', '4181 18', /padding/],
    ['Huffman padding of 8 bits', '418d f1e3 c2e5 f23a 6ba0 ab90 f4ff ff', /padding/],
    ['EOS inside a Huffman string', '4184 ffff ffff', /EOS/],
    ['EOS after a symbol', '4185 1fff ffff ff', /EOS/],
    ['size update above SETTINGS_HEADER_TABLE_SIZE', '3fe2 1f', /4097 exceeds the limit of 4096/],
    ['size update after a field', '82 20', /size update after a header field/],
    ['size update after a field, later in the block', '82 86 3fe1 1f', /size update after a header field/],
  ];

  it.each(cases)('%s', (_, block, message) => {
    const d = new HpackDecoder();
    let err: unknown;
    try {
      d.decode(hex(block));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HpackError);
    expect((err as Error).message).toMatch(message);
    // The table may now differ from the peer's: the decoder refuses to go on.
    expect(() => d.decode(hex('82'))).toThrow(/unusable/);
  });

  it('a size update up to the limit is fine', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('3fe1 1f'))).toEqual([]);
    expect(d.tableMaxSize).toBe(4096);
    expect(() => new HpackDecoder({ maxTableSize: 256 }).decode(hex('3fe2 01'))).toThrow(/257 exceeds the limit of 256/);
  });

  it('a header list over maxHeaderListSize throws once the block is decoded, the table in step', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 100 });
    const value = 'x'.repeat(67); // 32 + 1 + 67 = 100: exactly the limit
    expect(d.decode(encodeHeaders([['a', value]]))).toEqual([['a', value]]);
    // Two fields indexed with incremental indexing: 33 + 34 octets fit; the third (35) does not.
    const block = hex('4001 6100 4001 6201 31 4001 6302 3232');
    let err: unknown;
    try {
      d.decode(block);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeaderListTooLargeError);
    expect(err).toBeInstanceOf(HpackError);
    expect(err).toMatchObject({ size: 33 + 34 + 35, limit: 100 });
    // All three entries went into the table, so the next block's indexes still mean what the peer meant.
    expect(d.dynamicTable()).toEqual([['c', '22'], ['b', '1'], ['a', '']]);
    expect(d.decode(hex('be'))).toEqual([['c', '22']]);
  });

  it('counts repeated indexed references towards the limit', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 1000 });
    d.decode(Buffer.concat([hex('40 01 61 7f 83 01'), latin1('v'.repeat(258))])); // a: 258 v's (127 + 3 + 128), 291 octets
    expect(() => d.decode(hex('be be be be'))).toThrow(HeaderListTooLargeError);
    expect(d.decode(hex('be be be'))).toHaveLength(3);
  });
});

describe('encodeHeaders', () => {
  it('encodes a full static match as one indexed octet', () => {
    expect(encodeHeaders([[':status', '200']]).toString('hex')).toBe('88');
    expect(encodeHeaders([[':method', 'POST'], [':scheme', 'https']]).toString('hex')).toBe('8387');
  });

  it('encodes a static name match as a literal without indexing, with the indexed name', () => {
    // content-type is static index 31: 4-bit prefix 15, then 16.
    expect(encodeHeaders([['content-type', 'application/grpc']]).toString('hex')).toBe(
      '0f10' + '10' + latin1('application/grpc').toString('hex'),
    );
    expect(encodeHeaders([[':status', '503']]).toString('hex')).toBe('0803' + latin1('503').toString('hex')); // first :status index
  });

  it('encodes any other field as a literal without indexing, with a literal name', () => {
    expect(encodeHeaders([['grpc-status', '0']]).toString('hex')).toBe('000b' + latin1('grpc-status').toString('hex') + '0130');
  });

  it('round-trips through the decoder and never touches its dynamic table', () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
    const list: HeaderList = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-encoding', 'identity'],
      ['grpc-accept-encoding', 'identity,deflate,gzip'],
      ['x-empty', ''],
      ['content-length', ''],
      ['x-long', 'L'.repeat(300)],
      ['x-127', 's'.repeat(127)], // the 7-bit prefix full, then a zero continuation octet
      ['x-126', 's'.repeat(126)],
      ['n'.repeat(200), 'long name'],
      ['grpc-status-details-bin', bytes.toString('latin1')],
      ['grpc-message', 'caf%C3%A9 not found'],
      [':status', '200'], // repeats stay
    ];
    const d = new HpackDecoder();
    for (let i = 0; i < 3; i++) expect(d.decode(encodeHeaders(list))).toEqual(list);
    expect(d.tableSize).toBe(0);
    expect(encodeHeaders([])).toEqual(Buffer.alloc(0));
  });

  it('refuses chars a latin1 string cannot carry', () => {
    expect(() => encodeHeaders([['grpc-message', 'café ✓']])).toThrow(HpackError);
    expect(() => encodeHeaders([['x-✓', '']])).toThrow(HpackError);
  });

  it('the static table has Appendix A\'s 61 entries (its ends and two spot checks; the C.3-C.6 vectors use ~15 more)', () => {
    expect(STATIC_TABLE).toHaveLength(61);
    expect(STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(STATIC_TABLE[15]).toEqual(['accept-encoding', 'gzip, deflate']);
    expect(STATIC_TABLE[30]).toEqual(['content-type', '']);
    expect(STATIC_TABLE[60]).toEqual(['www-authenticate', '']);
  });
});

/** Header blocks from a client's bytes: HEADERS (padding and priority removed) plus its CONTINUATIONs. */
function headerBlocks(bytes: Buffer): { blocks: Buffer[]; padded: number; continuations: number } {
  const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const blocks: Buffer[] = [];
  let padded = 0;
  let continuations = 0;
  let open: Buffer[] | undefined;
  let off = bytes.subarray(0, 24).toString('latin1') === PREFACE ? 24 : 0;
  while (off + 9 <= bytes.length) {
    const length = bytes.readUIntBE(off, 3);
    const type = bytes[off + 3];
    const flags = bytes[off + 4];
    if (off + 9 + length > bytes.length) break;
    let payload = bytes.subarray(off + 9, off + 9 + length);
    off += 9 + length;
    if (type === 0x1) {
      let pad = 0;
      if (flags & 0x8) {
        pad = payload[0];
        payload = payload.subarray(1);
        padded++;
      }
      if (flags & 0x20) payload = payload.subarray(5); // stream dependency + weight
      open = [payload.subarray(0, payload.length - pad)];
    } else if (type === 0x9 && open) {
      open.push(payload);
      continuations++;
    } else continue;
    if (flags & 0x4) {
      blocks.push(Buffer.concat(open));
      open = undefined;
    }
  }
  return { blocks, padded, continuations };
}

/**
 * Sends requests from a real node:http2 client (nghttp2: Huffman coding and
 * the dynamic table) to a socket that only records bytes, and returns the
 * header blocks once `count` of them arrived.
 */
async function captureRequests(
  requests: Array<http2.OutgoingHttpHeaders>,
  opts: http2.ClientSessionOptions = {},
): Promise<ReturnType<typeof headerBlocks>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hpack-test-'));
  const sockPath = path.join(dir, 'h2.sock');
  const sockets: net.Socket[] = [];
  let client: http2.ClientHttp2Session | undefined;
  const server = net.createServer();
  try {
    return await new Promise((resolve, reject) => {
      server.on('connection', (sock) => {
        sockets.push(sock);
        sock.write(hex('000000 04 00 00000000')); // an empty SETTINGS frame
        const chunks: Buffer[] = [];
        sock.on('error', () => {});
        sock.on('data', (d) => {
          chunks.push(d);
          const got = headerBlocks(Buffer.concat(chunks));
          if (got.blocks.length >= requests.length) resolve(got);
        });
      });
      server.listen(sockPath, () => {
        client = http2.connect('http://localhost', { ...opts, createConnection: () => net.connect(sockPath) });
        client.on('error', reject);
        for (const headers of requests) client.request(headers, { endStream: true }).on('error', () => {});
      });
    });
  } finally {
    client?.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('HpackDecoder: blocks from node:http2 (nghttp2)', () => {
  const expectContains = (list: HeaderList, fields: Array<[string, string]>) => {
    for (const f of fields) expect(list).toContainEqual(f);
  };

  it('decodes three gRPC-like requests on one connection, the dynamic table carrying over', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `segment-${i}`).join('/'); // > 127 octets
    const bin = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)).toString('base64');
    const common = {
      ':method': 'POST',
      ':path': '/containerd.services.containers.v1.Containers/List',
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'grpc-node-js/1.14.0',
      'containerd-namespace': 'berth-test-namespace',
      'grpc-accept-encoding': 'identity,deflate,gzip',
    };
    const { blocks } = await captureRequests([
      { ...common, 'grpc-timeout': '9998m', 'x-long': long },
      { ...common, 'grpc-timeout': '9997m', 'x-trace-bin': bin },
      { ...common, ':path': '/containerd.services.tasks.v1.Tasks/Get', 'x-long': long, 'x-trace-bin': bin },
    ]);
    expect(blocks).toHaveLength(3);
    // nghttp2 Huffman-codes names and values: the plain text is not on the wire.
    expect(blocks[0].includes('berth-test-namespace')).toBe(false);
    expect(blocks[0].includes('containerd-namespace')).toBe(false);

    const d = new HpackDecoder();
    const lists = blocks.map((b) => d.decode(b));
    const fields = (h: Record<string, string>) => Object.entries(h) as Array<[string, string]>;
    expectContains(lists[0], [...fields(common), ['grpc-timeout', '9998m'], ['x-long', long], [':scheme', 'http'], [':authority', 'localhost:80']]);
    expectContains(lists[1], [...fields(common), ['grpc-timeout', '9997m'], ['x-trace-bin', bin]]);
    expectContains(lists[2], [...fields({ ...common, ':path': '/containerd.services.tasks.v1.Tasks/Get' }), ['x-long', long], ['x-trace-bin', bin]]);
    expect(lists[1].some(([n]) => n === 'x-long')).toBe(false);
    // Repeats come from the dynamic table: later blocks are much smaller.
    expect(d.tableSize).toBeGreaterThan(0);
    expect(blocks[1].length).toBeLessThan(blocks[0].length / 2);
    expect(blocks[2].length).toBeLessThan(blocks[0].length / 2);
  });

  it('decodes every octet as nghttp2 Huffman-codes it, evicting as the table fills', async () => {
    // '0' has a 5-bit code, so each value is shorter Huffman-coded and nghttp2 codes it. NUL is left out:
    // node joins headers with NUL internally.
    const headers: http2.OutgoingHttpHeaders = { ':path': '/' };
    for (let b = 1; b < 256; b++) headers[`x-${b}`] = '0'.repeat(40) + String.fromCharCode(b);
    const { blocks } = await captureRequests([headers, headers]);
    expect(blocks[0].includes('0'.repeat(10))).toBe(false);
    const d = new HpackDecoder();
    for (const block of blocks) {
      const got = new Map(d.decode(block));
      for (let b = 1; b < 256; b++) expect([b, got.get(`x-${b}`)]).toEqual([b, '0'.repeat(40) + String.fromCharCode(b)]);
      // nghttp2 indexed each field: about 50 fit in 4096 octets, the older ones were evicted.
      expect(d.dynamicTable()[0][0]).toBe('x-255');
      expect(d.dynamicTable().length).toBeLessThan(100);
      expect(d.tableSize).toBeLessThanOrEqual(4096);
    }
  });

  it('decodes padded HEADERS and blocks split into CONTINUATION frames', async () => {
    const big = 'x'.repeat(30000); // 26 KB Huffman-coded: more than one 16 KB frame
    const { blocks, padded, continuations } = await captureRequests(
      [{ ':path': '/a', 'x-small': 'padded' }, { ':path': '/b', 'x-big': big }],
      { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX },
    );
    expect(padded).toBeGreaterThan(0);
    expect(continuations).toBeGreaterThan(0);
    const d = new HpackDecoder();
    expect(d.decode(blocks[0])).toContainEqual(['x-small', 'padded']);
    expect(d.decode(blocks[1])).toContainEqual(['x-big', big]);
  });
});

describe('HpackDecoder: fuzz', () => {
  it('2000 random or mutated blocks each decode to a list or throw HpackError', () => {
    const rand = prng(7541);
    const seeds = [
      hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
      hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'),
      hex('4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad'),
      hex('3fe1 1f 4003 6162 6381 1f be'),
      encodeHeaders([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '0'], ['x', 'y'.repeat(200)]]),
    ];
    let lists = 0;
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      let block: Buffer;
      if (i % 2 === 0) {
        block = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      } else {
        block = Buffer.from(seeds[i % seeds.length]);
        for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) block[Math.floor(rand() * block.length)] ^= 1 << Math.floor(rand() * 8);
        if (rand() < 0.3) block = block.subarray(0, Math.floor(rand() * block.length));
      }
      const d = new HpackDecoder({ maxTableSize: rand() < 0.5 ? 4096 : 256, maxHeaderListSize: 1024 });
      try {
        const list = d.decode(block);
        expect(Array.isArray(list)).toBe(true);
        for (const f of list) expect(typeof f[0] === 'string' && typeof f[1] === 'string').toBe(true);
        lists++;
      } catch (err) {
        if (!(err instanceof HpackError)) throw new Error(`block ${block.toString('hex')} threw ${String(err)}`);
        errors++;
      }
    }
    // Both outcomes are exercised.
    expect(lists).toBeGreaterThan(50);
    expect(errors).toBeGreaterThan(50);
  });
});
