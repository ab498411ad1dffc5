/**
 * JSON-schema validation of config.json against the OCI runtime-spec's own
 * schemas (runtime/src/spec/schema/*.json, spec v1.0.2, draft-04).
 *
 * The validator is generated ahead of time (scripts/gen-spec-validator.mjs,
 * run by `make build`): the runtime carries compiled code, not ajv.
 */
import type { ErrorObject } from 'ajv';
import validate from './generated/validate-config';

/** One line per schema error: "/process/user/uid: must be integer". */
export function schemaErrors(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(describe);
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'required') return `${where}: missing required field ${JSON.stringify(e.params.missingProperty)}`;
  if (e.keyword === 'enum') return `${where}: ${e.message}: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}: ${e.message}`;
}
