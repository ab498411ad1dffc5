/**
 * The repository's root: the nearest directory above this file with berth's
 * package.json. (Not a fixed "../..": the VM lane runs these files bundled,
 * from dist/vm-tests/.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

export function repoRoot(): string {
  if (cached) return cached;
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'berth') return (cached = dir);
    } catch {
      // keep looking
    }
  }
  throw new Error(`cannot find berth's package.json above ${__dirname}`);
}
