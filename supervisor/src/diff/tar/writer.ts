/** A tar writer: header + body per entry, then the two end-of-archive blocks. */
import { Readable } from 'node:stream';
import { BLOCK, encodeHeader, padding, type TarHeader } from './header';

export type TarSource = AsyncIterable<{ header: TarHeader; body?: () => AsyncIterable<Buffer> }>;

/** A Readable tar stream of the entries (bodies must deliver exactly header.size bytes). */
export function writeTar(entries: TarSource): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for await (const { header, body } of entries) {
      yield encodeHeader(header);
      if (header.type !== 'file' || header.size === 0) continue;
      let n = 0;
      for await (const chunk of body ? body() : []) {
        n += chunk.length;
        if (n > header.size) throw new Error(`${header.name} grew while being archived`);
        yield chunk;
      }
      if (n !== header.size) throw new Error(`${header.name} changed size while being archived (${n} of ${header.size} bytes)`);
      if (padding(n) > 0) yield Buffer.alloc(padding(n));
    }
    yield Buffer.alloc(2 * BLOCK);
  }
  return Readable.from(gen(), { objectMode: false });
}
