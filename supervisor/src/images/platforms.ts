/** Platform matching, as containerd's platforms package (os/arch[/variant]). */
import { InvalidArgumentError } from '../../../proto/src/errdefs';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const archAliases: Record<string, [string, string?]> = {
  x86_64: ['amd64'],
  'x86-64': ['amd64'],
  aarch64: ['arm64'],
  armhf: ['arm', 'v7'],
  armel: ['arm', 'v6'],
  i386: ['386'],
};

export function parsePlatform(s: string): Platform {
  const parts = s.toLowerCase().split('/');
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => !p)) throw new InvalidArgumentError(`invalid platform ${JSON.stringify(s)}`);
  let [os, architecture]: string[] = parts;
  let variant: string | undefined = parts[2];
  if (parts.length === 1) {
    // "amd64" alone is an architecture on linux.
    architecture = os;
    os = 'linux';
  }
  const alias = archAliases[architecture];
  if (alias) {
    architecture = alias[0];
    variant = variant ?? alias[1];
  }
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  return { os, architecture: architecture ?? '', variant };
}

export function defaultPlatform(): Platform {
  const arch = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
  return { os: 'linux', architecture: arch };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

/** Whether a descriptor's platform (undefined: any) satisfies the wanted one. */
export function matches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return true;
  const h = parsePlatform(formatPlatform({ os: have.os, architecture: have.architecture, variant: have.variant || undefined }));
  if (h.os !== want.os || h.architecture !== want.architecture) return false;
  if (!want.variant || !h.variant) return true;
  return want.variant === h.variant;
}
