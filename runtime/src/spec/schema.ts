/**
 * JSON-schema validation of config.json against the OCI runtime-spec's own
 * schemas (runtime/src/spec/schema/*.json, spec v1.0.2, draft-04).
 *
 * The validator is generated ahead of time (scripts/gen-spec-validator.mjs,
 * run by `make build`): the runtime carries compiled code, not ajv.
 */
import type { ErrorObject } from 'ajv';
import validate from './generated/validate-config';

/** One line per schema error: "/process/user/uid: \"root\": must be integer". */
export function schemaErrors(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => describe(e, doc));
}

/** The value at a JSON pointer ("/process/user/uid"), to quote it in the message. */
function at(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

function describe(e: ErrorObject, doc: unknown): string {
  const value = at(doc, e.instancePath);
  const shown = value !== undefined && (typeof value !== 'object' || value === null) ? ` ${JSON.stringify(value)}` : '';
  const where = `${e.instancePath || '/'}${shown ? ':' + shown : ''}`;
  if (e.keyword === 'required') return `${where}: missing required field ${JSON.stringify(e.params.missingProperty)}`;
  if (e.keyword === 'enum') return `${where}: ${e.message}: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}: ${e.message}`;
}
