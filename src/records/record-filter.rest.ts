import { z } from 'zod';
import { booleanQuery } from '../rest/schemas.ts';
import { checkFieldPredicate, type FieldOperator, type FieldPredicateInput, fieldOperators, MAX_FILTER_PREDICATES, MAX_SEARCH_LENGTH } from './record-filter.ts';

// The REST spelling of a records list's filter and order: `field[nps][lt]=7`,
// `field[tags][contains]=["export"]`, `order=-created_at`, `include_total=true`. Values are checked
// here with the filter's own rules, so a failure is named as the client sent it (`field[nps][lt]`).

/** A query value as JSON when it is JSON (`7`, `true`, `["export"]`, `"7"`), else as the text it is (`enterprise`). */
function jsonOrText(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** A predicate as GraphQL's input type takes it (its lists are not read-only). */
type PredicateInput = Omit<FieldPredicateInput, 'in'> & { in?: unknown[] | null };

const isOperator = (op: string): op is FieldOperator => (fieldOperators as readonly string[]).includes(op);

const FIELD_EXAMPLE = { nps: { lt: '7' }, tags: { contains: '["export"]' } };

/** `field[<name>][<op>]=<value>`, as the records filter's `fields`. */
export const fieldQuery = z
  .record(z.string(), z.record(z.string(), z.string()))
  .transform((fields, context) => {
    const predicates: PredicateInput[] = [];
    for (const [name, operators] of Object.entries(fields)) {
      const predicate: PredicateInput = { name };
      for (const [op, text] of Object.entries(operators)) {
        if (!isOperator(op)) {
          context.issues.push({ code: 'custom', message: `one of ${fieldOperators.join(', ')} as the operator`, input: op, path: [name, op] });
          continue;
        }
        if (op === 'exists') predicate.exists = text === 'true' ? true : text === 'false' ? false : null;
        else if (op === 'in') {
          const list = jsonOrText(text);
          predicate.in = Array.isArray(list) ? list : [list];
        } else predicate[op] = jsonOrText(text);
        if (op === 'exists' && predicate.exists === null) context.issues.push({ code: 'custom', message: 'true or false', input: text, path: [name, op] });
      }
      checkFieldPredicate(predicate, (key, expected, value) => {
        context.issues.push({ code: 'custom', message: expected, input: value, path: key === null || key === 'name' ? [name] : [name, key] });
      });
      predicates.push(predicate);
    }
    if (predicates.length > MAX_FILTER_PREDICATES) context.issues.push({ code: 'custom', message: `at most ${MAX_FILTER_PREDICATES} fields`, input: `${predicates.length} fields` });
    return predicates.length === 0 ? undefined : { fields: predicates };
  })
  .optional()
  .meta({
    description:
      'Predicates on the records\' typed fields, as field[<name>][<op>]=<value> (deepObject): eq, ne and in (a JSON list) for any type; ' +
      'gt, gte, lt, lte with a number (integer and float fields), a date YYYY-MM-DD (date fields) or an RFC 3339 date-time (datetime fields); ' +
      'contains with text (string fields, ignoring case, or an element of a json list) or JSON (json fields, e.g. ["export"]); exists=true or false. ' +
      'A value is read as JSON when it is JSON, else as text: field[plan][eq]=enterprise and field[plan][eq]="enterprise" are the same. Every operator of a field applies to the same field.',
    param: { style: 'deepObject', explode: true, example: FIELD_EXAMPLE },
    override: { type: 'object', additionalProperties: { type: 'object', propertyNames: { enum: [...fieldOperators] }, additionalProperties: { type: 'string' } } },
  });

const orders = { display_ts: 'DISPLAY_TS', created_at: 'CREATED_AT' } as const;

/** `order=display_ts` (oldest first) or `-display_ts` (newest first, the default), and created_at likewise. */
const orderQuery = z
  .enum(['display_ts', '-display_ts', 'created_at', '-created_at'])
  .transform((order) => {
    const descending = order.startsWith('-');
    const key = descending ? order.slice(1) : order;
    return [{ field: key === 'created_at' ? orders.created_at : orders.display_ts, direction: descending ? ('DESC' as const) : ('ASC' as const) }];
  })
  .optional()
  .meta({ description: 'The order, then by id: display_ts or created_at, oldest first; with a leading -, newest first. Default -display_ts. A cursor keeps its order: sent with another, it is INVALID_CURSOR.' });

const includeTotalQuery = booleanQuery('true adds total_count, the number of records the whole list holds (one more statement).');

export const searchQuery = z
  .string()
  .min(1)
  .max(MAX_SEARCH_LENGTH)
  .optional()
  .meta({
    description: `Full-text search of the records' content fields, in web-search syntax: words, "quoted phrases", -excluded words, or. Ordered by relevance unless order is given. 1 to ${MAX_SEARCH_LENGTH} characters.`,
    example: 'sso -okta',
  });

/** The query parameters every records list takes besides its page. */
export const recordListQuery = {
  q: searchQuery,
  field: fieldQuery,
  order: orderQuery,
  include_total: includeTotalQuery,
};
