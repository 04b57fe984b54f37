import { ValidationError } from '../errors/api-error.ts';
import { ID_RULE, parseId as idOf } from '../validation/ids.ts';
import { describeValue, isWellFormedText } from '../validation/values.ts';

/** IDs travel as GraphQL `ID` (string or integer literal) and must be positive integers the database can hold. */
export function parseId(value: string | number, param: string): number {
  const id = idOf(value);
  if (id === null) throw new ValidationError('INVALID_ID', { param, message: (n) => `${n(param)} must be ${ID_RULE}; got ${describeValue(value)}.` });
  return id;
}

export function parseOptionalId(value: string | number | null | undefined, param: string): number | null {
  return value === null || value === undefined ? null : parseId(value, param);
}

/** A text filter (exact name, email) must be storable text, or PostgreSQL refuses the query. */
export function parseTextFilter(value: string | null | undefined, param: string): string | null | undefined {
  if (typeof value === 'string' && !isWellFormedText(value)) {
    throw new ValidationError('INVALID_FIELD_VALUE', { param, message: (n) => `${n(param)} must not contain U+0000 or unpaired surrogates.` });
  }
  return value;
}
