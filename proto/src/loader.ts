/**
 * Finds and loads the project's .proto files (the one loader that the shim,
 * the supervisor and berthctl share).
 *
 * The files live in proto/ in the source tree; the build copies them next to
 * the bundles as dist/proto/. BERTH_PROTO_DIR overrides both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

let cachedDir: string | undefined;

/** The directory that holds types/, services/, events/ and runtime/. */
export function protoDir(): string {
  if (cachedDir) return cachedDir;
  const candidates = [
    process.env.BERTH_PROTO_DIR,
    path.join(__dirname, 'proto'), // dist/<bundle>.js → dist/proto
    path.resolve(__dirname, '..'), // proto/src/loader.ts → proto
  ];
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, 'types', 'mount.proto'))) {
      cachedDir = dir;
      return dir;
    }
  }
  throw new Error(`cannot find the proto directory (looked in ${candidates.filter(Boolean).join(', ')})`);
}

/**
 * Loads .proto files (paths relative to protoDir(), e.g. "events/task.proto")
 * into one protobufjs Root. Imports resolve against protoDir(); the google/protobuf
 * well-known types come with protobufjs.
 */
export function loadRoot(files: string[]): protobuf.Root {
  const dir = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (target.startsWith('google/protobuf/')) return target;
    return path.isAbsolute(target) ? target : path.join(dir, target);
  };
  root.loadSync(files, { keepCase: false });
  root.resolveAll();
  return root;
}
