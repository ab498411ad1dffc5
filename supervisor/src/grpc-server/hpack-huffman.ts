/**
 * The Huffman code of RFC 7541 Appendix B, and its decoder.
 *
 * The code is canonical: codes of one length are consecutive in symbol order,
 * and each length's first code follows the last shorter one. So only the 257
 * code lengths are stored and the codes are rebuilt from them at load; the
 * tests check the result against codes the RFC lists.
 */

/** Symbol 256, end of string: never decoded, its prefix is the padding (RFC 7541 5.2). */
export const EOS = 256;

/** Code length in bits of symbols 0..256 (RFC 7541 Appendix B, the "len in bits" column). */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, //          32 ' '
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, //               48 '0'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, //                 64 '@'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, //              80 'P'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, //                 96 '`'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, //            112 'p'
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240
  30, //                                                             256 EOS
];

/** Code length of each symbol in bits (5 to 30). */
export const HUFFMAN_LENGTHS = Uint8Array.from(CODE_LENGTHS);

/** Code of each symbol, right-aligned: the RFC's "code as hex aligned to LSB". */
export const HUFFMAN_CODES = canonicalCodes(HUFFMAN_LENGTHS);

function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const codes = new Uint32Array(lengths.length);
  const order = Array.from(lengths.keys()).sort((a, b) => lengths[a] - lengths[b] || a - b);
  let code = 0;
  let len = lengths[order[0]];
  for (const sym of order) {
    code <<= lengths[sym] - len; // codes stay below 2^30: no sign trouble
    len = lengths[sym];
    codes[sym] = code++;
  }
  return codes;
}

/*
 * Decoding walks the code tree four bits at a time. The states are the tree's
 * 256 internal nodes (0 is the root); DECODE[state << 4 | nibble] packs the
 * next state (bits 0-7), the symbol completed inside the nibble (bits 8-15,
 * with EMIT; at most one, as the shortest code has 5 bits), and FAIL when the
 * nibble completes EOS. PADDING_OK[state] says whether the bits read since
 * the last symbol may end the string: at most 7 of them, all ones.
 */
const EMIT = 1 << 16;
const FAIL = 1 << 17;
const DECODE = new Uint32Array(256 * 16);
const PADDING_OK = new Uint8Array(256);

buildDecoder();

function buildDecoder(): void {
  // child[node * 2 + bit]: > 0 an internal node, < 0 the leaf of symbol -child - 1, 0 none yet.
  const child = new Int32Array(256 * 2);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = HUFFMAN_LENGTHS[sym];
    const code = HUFFMAN_CODES[sym];
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1);
      if (child[slot] === 0) child[slot] = nodes++;
      node = child[slot];
    }
    child[node * 2 + (code & 1)] = -sym - 1;
  }
  if (nodes !== 256) throw new Error(`hpack huffman: ${nodes} internal nodes, want 256`);

  // Nodes reached from the root by 0 to 7 one bits: the valid paddings.
  for (let node = 0, depth = 0; depth <= 7 && node >= 0; depth++, node = child[node * 2 + 1]) PADDING_OK[node] = 1;

  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const next = child[node * 2 + ((nibble >> i) & 1)];
        if (next > 0) {
          node = next;
          continue;
        }
        const sym = -next - 1;
        if (sym === EOS) {
          entry |= FAIL;
          break;
        }
        entry |= EMIT | (sym << 8);
        node = 0;
      }
      DECODE[(state << 4) | nibble] = entry | node;
    }
  }
}

/** huffmanDecode's result when the string contains EOS. */
export const HUFFMAN_EOS = -1;
/** huffmanDecode's result when the padding is longer than 7 bits or not all ones. */
export const HUFFMAN_BAD_PADDING = -2;

/** The most octets huffmanDecode can write for n encoded octets (the shortest code has 5 bits). */
export const huffmanMaxDecodedLength = (n: number): number => Math.floor((n * 8) / 5);

/**
 * Decodes src[start, end) into dst, which must have room for
 * huffmanMaxDecodedLength(end - start) octets. Returns the number of octets
 * written, or HUFFMAN_EOS or HUFFMAN_BAD_PADDING (negative); the caller
 * turns those into its own error.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = src[i];
    let e = DECODE[(state << 4) | (b >> 4)];
    if (e & FAIL) return HUFFMAN_EOS;
    if (e & EMIT) dst[n++] = e >> 8;
    e = DECODE[((e & 0xff) << 4) | (b & 0x0f)];
    if (e & FAIL) return HUFFMAN_EOS;
    if (e & EMIT) dst[n++] = e >> 8;
    state = e & 0xff;
  }
  return PADDING_OK[state] ? n : HUFFMAN_BAD_PADDING;
}

/** Length in octets of src Huffman-encoded, padding included. */
export function huffmanEncodedLength(src: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < src.length; i++) bits += HUFFMAN_LENGTHS[src[i]];
  return (bits + 7) >> 3;
}

/** Huffman-encodes src, padded with the most significant bits of EOS (all ones). */
export function huffmanEncode(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(huffmanEncodedLength(src));
  let acc = 0; // pending bits, fewer than 8 between symbols; codes are at most 30 bits, so acc stays below 2^37 (exact in a double)
  let pending = 0;
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const len = HUFFMAN_LENGTHS[src[i]];
    acc = acc * 2 ** len + HUFFMAN_CODES[src[i]];
    pending += len;
    while (pending >= 8) {
      pending -= 8;
      const scale = 2 ** pending;
      const byte = Math.floor(acc / scale);
      out[o++] = byte;
      acc -= byte * scale;
    }
  }
  if (pending > 0) out[o++] = (acc << (8 - pending)) | (0xff >> pending);
  return out;
}
