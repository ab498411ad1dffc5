/**
 * A streaming tar reader: yields one entry at a time; the caller must consume
 * (or skip) the entry's body before asking for the next.
 */
import { InvalidArgumentError } from '../../../../proto/src/errdefs';
import { BLOCK, finishHeader, padding, parseHeaderBlock, parsePax, type TarHeader } from './header';

class ByteReader {
  private buf = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;
  private eof = false;

  constructor(src: AsyncIterable<Buffer>) {
    this.it = src[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.eof) {
      const r = await this.it.next();
      if (r.done) this.eof = true;
      else this.buf = this.buf.length === 0 ? Buffer.from(r.value) : Buffer.concat([this.buf, r.value]);
    }
    return this.buf.length >= n;
  }

  /** Exactly n bytes, or null at a clean end (no bytes left); truncation throws. */
  async exact(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.buf.length === 0) return null;
      throw new InvalidArgumentError('unexpected end of tar archive (truncated layer)');
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Up to n bytes (at least 1) as soon as they are there. */
  async some(n: number): Promise<Buffer> {
    if (!(await this.fill(1))) throw new InvalidArgumentError('unexpected end of tar archive (truncated layer)');
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Drains the source (e.g. trailing zero blocks) so that a decompressor sees its whole input. */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (!this.eof) {
      const r = await this.it.next();
      if (r.done) this.eof = true;
    }
  }
}

export interface TarEntry {
  header: TarHeader;
  /** The entry's content (files only); must be consumed before the next entry. */
  body(): AsyncGenerator<Buffer>;
}

export async function* readTar(src: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(src);
  let globalPax = new Map<string, Buffer>();
  for (;;) {
    let pax = new Map(globalPax);
    let longName: string | undefined;
    let longLink: string | undefined;
    let raw;
    for (;;) {
      const block = await r.exact(BLOCK);
      if (!block) throw new InvalidArgumentError('unexpected end of tar archive (no end-of-archive blocks)');
      raw = parseHeaderBlock(block);
      if (!raw) {
        await r.drain();
        return;
      }
      if (!['x', 'g', 'L', 'K'].includes(raw.flag)) break;
      if (raw.size > 1 << 20) throw new InvalidArgumentError('invalid tar: extended header larger than 1 MiB');
      const data = (await r.exact(raw.size + padding(raw.size))) ?? Buffer.alloc(0);
      const body = data.subarray(0, raw.size);
      if (raw.flag === 'x') pax = new Map([...pax, ...parsePax(body)]);
      else if (raw.flag === 'g') {
        globalPax = new Map([...globalPax, ...parsePax(body)]);
        pax = new Map([...pax, ...globalPax]);
      } else if (raw.flag === 'L') longName = body.toString('utf8').replace(/\0+$/, '');
      else longLink = body.toString('utf8').replace(/\0+$/, '');
    }
    const header = finishHeader(raw, pax, longName, longLink);
    let consumed = false;
    const size = header.size;
    const body = async function* (): AsyncGenerator<Buffer> {
      if (consumed) throw new Error('tar entry body read twice');
      consumed = true;
      let left = size;
      while (left > 0) {
        const chunk = await r.some(Math.min(left, 1 << 20));
        left -= chunk.length;
        yield chunk;
      }
      if (padding(size) > 0) await r.exact(padding(size));
    };
    yield { header, body };
    if (!consumed) for await (const _ of body()) void _;
  }
}
