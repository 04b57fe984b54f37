import { ValidationError } from '../errors/api-error.ts';
import { describeValue, isWellFormedText } from '../validation/values.ts';

/** IDs travel as GraphQL `ID` (string or integer literal) and must be positive integers the database can hold. */
export function parseId(value: string | number, param: string): number {
  const text = String(value);
  const id = /^[1-9]\d{0,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    throw new ValidationError('INVALID_ID', { param, message: (n) => `${n(param)} must be a positive integer id; got ${describeValue(value)}.` });
  }
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
