/**
 * JSON-schema validation of config.json against the OCI runtime-spec's own
 * schemas (runtime/src/spec/schema/*.json, from the spec at v1.0.2, draft-04).
 *
 * The validator is compiled on first use; in the bundled binary that happens
 * while the start-up snapshot is built, so a real run pays nothing for it.
 */
import type { ValidateFunction, ErrorObject } from 'ajv';
import Ajv04 from 'ajv-draft-04';
import configSchema from './schema/config-schema.json';
import configLinux from './schema/config-linux.json';
import configSolaris from './schema/config-solaris.json';
import configVm from './schema/config-vm.json';
import configWindows from './schema/config-windows.json';
import configZos from './schema/config-zos.json';
import defs from './schema/defs.json';
import defsLinux from './schema/defs-linux.json';
import defsVm from './schema/defs-vm.json';
import defsWindows from './schema/defs-windows.json';
import defsZos from './schema/defs-zos.json';

let validator: ValidateFunction | undefined;

export function configValidator(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv04({ allErrors: false, strict: false });
  const parts: [string, object][] = [
    ['defs.json', defs],
    ['defs-linux.json', defsLinux],
    ['defs-vm.json', defsVm],
    ['defs-windows.json', defsWindows],
    ['defs-zos.json', defsZos],
    ['config-linux.json', configLinux],
    ['config-solaris.json', configSolaris],
    ['config-vm.json', configVm],
    ['config-windows.json', configWindows],
    ['config-zos.json', configZos],
  ];
  for (const [id, schema] of parts) ajv.addSchema(schema, id);
  validator = ajv.compile(configSchema);
  return validator;
}

/** One line per schema error: "/process/user/uid: must be integer". */
export function schemaErrors(doc: unknown): string[] {
  const v = configValidator();
  if (v(doc)) return [];
  return (v.errors ?? []).map(describe);
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '/';
  if (e.keyword === 'required') return `${where}: missing required field ${JSON.stringify(e.params.missingProperty)}`;
  if (e.keyword === 'enum') return `${where}: ${e.message}: ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where}: ${e.message}`;
}
