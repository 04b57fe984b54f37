/** What an id must be, in the words of every message that refuses one. */
export const ID_RULE = 'a positive integer id';

/**
 * An id as every API takes it (a URL segment, a JSON body, a GraphQL ID): a positive integer that
 * both PostgreSQL's bigint and JavaScript hold exactly, as a number or as its digits without leading
 * zeros; null when the value is not one.
 */
export function parseId(value: unknown): number | null {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9]\d{0,15}$/.test(text)) return null;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : null;
}
