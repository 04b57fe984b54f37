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

/** `field[nps][lt]`: a query parameter of an object (OpenAPI's deepObject style), as its name and keys. */
const DEEP_OBJECT_KEY = /^([^[\]]+)((?:\[[^[\]]+\])+)$/;

type QueryTree = Map<string, QueryTree | unknown>;

function toObject(tree: QueryTree): Record<string, unknown> {
  // fromEntries defines own properties: a key such as __proto__ stays a plain key.
  return Object.fromEntries([...tree].map(([key, value]) => [key, value instanceof Map ? toObject(value) : value]));
}

/**
 * The query string's deepObject parameters as nested objects: `field[nps][lt]=7` becomes
 * `{ field: { nps: { lt: '7' } } }`. A key that is both a value and an object stays as sent, for its
 * schema to refuse.
 */
function readDeepObjects(query: unknown): unknown {
  if (typeof query !== 'object' || query === null) return query;
  const tree: QueryTree = new Map();
  for (const [key, value] of Object.entries(query)) {
    const match = DEEP_OBJECT_KEY.exec(key);
    const path = match ? [match[1] ?? '', ...[...(match[2] ?? '').matchAll(/\[([^[\]]+)\]/g)].map((part) => part[1] ?? '')] : [key];
    let node = tree;
    const parents = path.slice(0, -1);
    const fits = parents.every((part) => {
      const next = node.get(part) ?? new Map();
      if (!(next instanceof Map)) return false;
      node.set(part, next);
      node = next;
      return true;
    });
    const leaf = path.at(-1) ?? key;
    if (fits && !(node.get(leaf) instanceof Map)) node.set(leaf, value);
    else tree.set(key, value);
  }
  return toObject(tree);
}

/** A query parameter's name as sent: `limit`, or `field[nps][lt]` for a key of a deepObject. */
function queryParamOf(path: readonly PropertyKey[]): string {
  const [head, ...keys] = path.map(String);
  return `${head ?? 'query'}${keys.map((key) => `[${key}]`).join('')}`;
}

/**
 * Parses one part of a request (path, query or body) with its schema and reports every failing
 * field, named as the client sent it (`fields[2].value`, `limit`, `field[nps][lt]`).
 */
export function parseRequestPart<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const isQuery = root === 'query';
  const value = isQuery ? readDeepObjects(input) : input;
  const paramOf = (path: readonly PropertyKey[]) => (isQuery && path.length > 0 ? queryParamOf(path) : paramOfPath(path, root));
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const errors = new FieldErrors();
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const param = paramOf([...issue.path, key]);
        errors.add(param, 'INVALID_FIELD_VALUE', `${param} is not a field this endpoint accepts.`);
      }
      continue;
    }
    const param = paramOf(issue.path);
    const code = isIdParam(param) ? 'INVALID_ID' : 'INVALID_FIELD_VALUE';
    const message = issue.input === undefined && issue.code === 'invalid_type' ? `${param} is required.` : `${param} must be ${expectation(issue, param)}; got ${describeValue(issue.input)}.`;
    errors.add(param, code, message);
  }
  errors.throwIfAny();
  throw new Error('unreachable: a failed parse reported no issue');
}
