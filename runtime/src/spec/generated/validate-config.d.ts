// Types of the generated validator (scripts/gen-spec-validator.mjs writes validate-config.js at build time).
import type { ErrorObject } from 'ajv';

declare function validate(data: unknown): boolean;
declare namespace validate {
  let errors: ErrorObject[] | null | undefined;
}
export = validate;
