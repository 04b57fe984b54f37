import type { z } from 'zod';
import { FieldErrors } from '../errors/api-error.ts';
import { ID_RULE } from '../validation/ids.ts';
import { describeValue } from '../validation/values.ts';
import { paramOfPath } from './names.ts';

/** `id`, `person_id`, `record_id` are integer ids; `external_id` is the client's own text. */
function isIdParam(param: string): boolean {
  const name = param.split('.').at(-1) ?? '';
  return name === 'id' || (name.endsWith('_id') && name !== 'external_id');
}

function expectation(issue: z.core.$ZodIssue, param: string): string {
  switch (issue.code) {
    case 'invalid_union':
      return isIdParam(param) ? ID_RULE : 'a value of the documented type';
    case 'invalid_type':
      return issue.expected === 'int' ? 'an integer' : issue.expected === 'object' ? 'a JSON object' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`;
    case 'invalid_value':
      return `one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    default:
      return issue.message;
  }
}

/**
 * Parses one part of a request (path, query or body) with its schema and reports every failing
 * field, named as the client sent it (`fields[2].value`, `limit`).
 */
export function parseRequestPart<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const errors = new FieldErrors();
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const param = paramOfPath([...issue.path, key], root);
        errors.add(param, 'INVALID_FIELD_VALUE', `${param} is not a field this endpoint accepts.`);
      }
      continue;
    }
    const param = paramOfPath(issue.path, root);
    const code = isIdParam(param) ? 'INVALID_ID' : 'INVALID_FIELD_VALUE';
    const message = issue.input === undefined && issue.code === 'invalid_type' ? `${param} is required.` : `${param} must be ${expectation(issue, param)}; got ${describeValue(issue.input)}.`;
    errors.add(param, code, message);
  }
  errors.throwIfAny();
  throw new Error('unreachable: a failed parse reported no issue');
}
