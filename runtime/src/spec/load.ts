/**
 * Reading a bundle's config.json: parse, schema-validate, then the named checks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { schemaErrors } from './schema';
import type { Spec } from './types';
import { validateSpec } from './validate';
import { log } from '../logging';

export interface LoadedSpec {
  spec: Spec;
  bundle: string;
  /** The rootfs as an absolute host path with no symlinks. */
  rootfs: string;
}

export function loadSpec(bundle: string): LoadedSpec {
  const abs = path.resolve(bundle);
  const file = path.join(abs, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ConfigError(`JSON specification file config.json not found in bundle ${abs}`);
    throw new ConfigError(`cannot read ${file}: ${e.message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const problems = schemaErrors(doc);
  if (problems.length > 0) throw new ConfigError(`${file} does not match the runtime-spec schema: ${problems[0]}`);
  const spec = doc as Spec;
  if (!spec.root?.path) throw new ConfigError(`${file}: root.path is required`);
  if (!spec.process) throw new ConfigError(`${file}: process is required`);
  const rootfsPath = path.resolve(abs, spec.root.path);
  let rootfs: string;
  try {
    rootfs = fs.realpathSync(rootfsPath);
    if (!fs.statSync(rootfs).isDirectory()) throw new ConfigError(`invalid rootfs: ${rootfsPath} is not a directory`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`invalid rootfs: ${(err as Error).message.replace(/^ENOENT: /, '')}`, { cause: err });
  }
  const { errors, warnings } = validateSpec(spec);
  for (const w of warnings) log.warn(w);
  if (errors.length > 0) throw new ConfigError(errors[0]);
  return { spec, bundle: abs, rootfs };
}
