/**
 * The shim's command line, in Go's flag syntax because containerd builds it
 * (runtime/v2/shim/shim.go parseFlags): `-namespace ns -id x -address a
 * [-publish-binary p] [-bundle b] [-socket s] [-debug] [-v] [start|delete]`.
 * `-flag value`, `-flag=value` and `--flag` are all accepted.
 */
export interface Flags {
  namespace: string;
  id: string;
  address: string;
  publishBinary: string;
  bundle: string;
  socket: string;
  debug: boolean;
  version: boolean;
  /** "start", "delete", or "" for the long-lived server. */
  action: string;
}

const STRING_FLAGS: Record<string, keyof Flags> = {
  namespace: 'namespace', id: 'id', address: 'address', 'publish-binary': 'publishBinary', bundle: 'bundle', socket: 'socket',
};
const BOOL_FLAGS: Record<string, keyof Flags> = { debug: 'debug', v: 'version' };

export class UsageError extends Error {}

export function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    namespace: '', id: '', address: '', publishBinary: 'containerd', bundle: '', socket: '', debug: false, version: false, action: '',
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name in BOOL_FLAGS) {
      const v = eq >= 0 ? body.slice(eq + 1) : 'true';
      (f as unknown as Record<string, unknown>)[BOOL_FLAGS[name]] = v === 'true' || v === '1';
    } else if (name in STRING_FLAGS) {
      let v: string;
      if (eq >= 0) v = body.slice(eq + 1);
      else if (i + 1 < argv.length) v = argv[++i];
      else throw new UsageError(`flag needs an argument: -${name}`);
      (f as unknown as Record<string, unknown>)[STRING_FLAGS[name]] = v;
    } else {
      throw new UsageError(`flag provided but not defined: -${name}`);
    }
  }
  f.action = argv[i] ?? '';
  return f;
}
