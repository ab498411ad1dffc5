/** Digests as the OCI image spec writes them: <algorithm>:<hex>. */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

const patterns: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

export interface ParsedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

/** Parses and validates a digest; a malformed one is InvalidArgument. */
export function parseDigest(d: string): ParsedDigest {
  const i = d.indexOf(':');
  const algorithm = d.slice(0, i);
  const hex = d.slice(i + 1);
  if (i <= 0 || !(algorithm in patterns)) throw new InvalidArgumentError(`invalid digest ${JSON.stringify(d)}: unsupported digest algorithm`);
  if (!patterns[algorithm].test(hex)) throw new InvalidArgumentError(`invalid digest ${JSON.stringify(d)}: invalid checksum digest format`);
  return { algorithm: algorithm as ParsedDigest['algorithm'], hex };
}

export function validDigest(d: string): boolean {
  try {
    parseDigest(d);
    return true;
  } catch {
    return false;
  }
}
