import { createHash } from 'node:crypto';
import type { RawBuilder } from 'kysely';
import { sql } from '../database/sql.ts';
import { FieldErrors } from '../errors/api-error.ts';
import { parseId as idOf } from '../validation/ids.ts';
import { describeValue, hasUnstorableText, isCalendarDate, isRfc3339DateTime, isStorableInstant, isText, jsonDepth, MAX_JSON_DEPTH, parseDateTime, STORABLE_YEARS } from '../validation/values.ts';
import { MAX_NAME_LENGTH } from './record-fields.ts';

// The records filter: checked here once (every failure named by its path), then compiled into one SQL
// condition whose values are all bound parameters. Field predicates read the `fields` jsonb array; each
// is also written as a containment (`fields @> [{"name": …}]`) that the GIN index on `fields` answers.

export const fieldOperators = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists'] as const;
export type FieldOperator = (typeof fieldOperators)[number];
const rangeOperators = ['gt', 'gte', 'lt', 'lte'] as const;
type RangeOperator = (typeof rangeOperators)[number];

/** How many predicates a filter may hold, and how deep and/or/not may nest. */
export const MAX_FILTER_PREDICATES = 50;
export const MAX_FILTER_DEPTH = 5;
export const MAX_IN_VALUES = 100;

/** A field predicate as GraphQL (or REST, through GraphQL) hands it over. */
export interface FieldPredicateInput {
  name: string;
  eq?: unknown;
  ne?: unknown;
  in?: readonly unknown[] | null;
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
  contains?: unknown;
  exists?: boolean | null;
}

export interface IdFilterInput {
  eq?: string | number | null;
  in?: readonly (string | number)[] | null;
}

export interface TimeRangeInput {
  gt?: Date | null;
  gte?: Date | null;
  lt?: Date | null;
  lte?: Date | null;
}

export interface RecordFilterInput {
  and?: readonly RecordFilterInput[] | null;
  or?: readonly RecordFilterInput[] | null;
  not?: RecordFilterInput | null;
  sourceId?: IdFilterInput | null;
  personId?: IdFilterInput | null;
  companyId?: IdFilterInput | null;
  displayTs?: TimeRangeInput | null;
  createdAt?: TimeRangeInput | null;
  fields?: readonly FieldPredicateInput[] | null;
}

/** What a range bound compares with: the numeric fields, the date fields or the datetime fields. */
type Comparable = { kind: 'number'; value: number } | { kind: 'date'; value: string } | { kind: 'datetime'; value: string };

/** A checked field predicate: every operator given applies to the same field of a record. */
export interface FieldPredicate {
  name: string;
  eq?: unknown;
  ne?: unknown;
  in?: unknown[];
  ranges: { op: RangeOperator; bound: Comparable }[];
  contains?: unknown;
  exists?: boolean;
}

/** A checked filter. */
export type RecordCondition =
  | { kind: 'and' | 'or'; of: RecordCondition[] }
  | { kind: 'not'; of: RecordCondition }
  | { kind: 'ids'; column: 'source_id' | 'person_id' | 'company_id'; ids: number[] }
  | { kind: 'time'; column: 'display_ts' | 'created_at'; op: RangeOperator; at: Date }
  | { kind: 'field'; predicate: FieldPredicate };

/** Reports a value that does not fit its operator: where, what it must be, and what it was. */
export type Misfit = (key: string | null, expected: string, value: unknown) => void;

const isPresent = (value: unknown) => value !== undefined && value !== null;

function isStorableJson(value: unknown): boolean {
  return jsonDepth(value) <= MAX_JSON_DEPTH && !hasUnstorableText(value);
}

/** A range bound: a number, a YYYY-MM-DD date or an RFC 3339 date-time, each comparing with fields of that type. */
function comparableOf(value: unknown): Comparable | null {
  if (typeof value === 'number' && Number.isFinite(value)) return { kind: 'number', value };
  if (typeof value !== 'string') return null;
  if (isCalendarDate(value)) return { kind: 'date', value };
  const instant = isRfc3339DateTime(value) ? parseDateTime(value) : null;
  return instant && isStorableInstant(instant) ? { kind: 'datetime', value: instant.toISOString() } : null;
}

/**
 * Checks one field predicate against the types its operators apply to: eq, ne and in take any JSON;
 * gt, gte, lt and lte a number (integer and float fields), a date (date fields) or a date-time
 * (datetime fields); contains a string (a case-insensitive substring of string fields, or an element
 * of json fields) or other JSON (contained in json fields); exists a boolean.
 */
export function checkFieldPredicate(input: FieldPredicateInput, misfit: Misfit): FieldPredicate | null {
  let ok = true;
  const fail: Misfit = (key, expected, value) => {
    ok = false;
    misfit(key, expected, value);
  };
  if (!isText(input.name, MAX_NAME_LENGTH)) fail('name', `a field name of 1 to ${MAX_NAME_LENGTH} characters without U+0000`, input.name);
  const predicate: FieldPredicate = { name: input.name, ranges: [] };
  for (const key of ['eq', 'ne', 'contains'] as const) {
    const value = input[key];
    if (!isPresent(value)) continue;
    if (!isStorableJson(value)) fail(key, `JSON of at most ${MAX_JSON_DEPTH} levels without U+0000`, value);
    else predicate[key] = value;
  }
  if (isPresent(input.in)) {
    const values = input.in ?? [];
    if (values.length < 1 || values.length > MAX_IN_VALUES) fail('in', `a list of 1 to ${MAX_IN_VALUES} values`, values);
    else if (!values.every((value) => isPresent(value) && isStorableJson(value))) fail('in', `a list of JSON values of at most ${MAX_JSON_DEPTH} levels without U+0000`, values);
    else predicate.in = [...values];
  }
  for (const op of rangeOperators) {
    const value = input[op];
    if (!isPresent(value)) continue;
    const bound = comparableOf(value);
    if (bound === null) fail(op, `a number, a date (YYYY-MM-DD) or an RFC 3339 date-time in years ${STORABLE_YEARS}`, value);
    else predicate.ranges.push({ op, bound });
  }
  const kinds = new Set(predicate.ranges.map((range) => range.bound.kind));
  if (kinds.size > 1) fail(predicate.ranges[1]?.op ?? null, `of the same kind as ${predicate.ranges[0]?.op} (a number, a date or a date-time)`, input[predicate.ranges[1]?.op ?? 'gt']);
  if (isPresent(input.exists)) {
    if (typeof input.exists !== 'boolean') fail('exists', 'true or false', input.exists);
    else predicate.exists = input.exists;
  }
  const operators = fieldOperators.filter((op) => isPresent(input[op]));
  if (operators.length === 0) fail(null, `a predicate with at least one of ${fieldOperators.join(', ')}`, input);
  if (predicate.exists === false && operators.length > 1) fail('exists', 'alone in its predicate when false (a missing field has no value to compare)', input.exists);
  return ok ? predicate : null;
}

/**
 * Checks a filter and reports every failure under `path` (`filter.fields[0].gt`); answers the checked
 * condition, or null when the filter is empty or failed.
 */
export function checkRecordFilter(input: RecordFilterInput | null | undefined, path: string, errors: FieldErrors): RecordCondition | null {
  let predicates = 0;
  const misfitAt = (at: string): Misfit => (key, expected, value) => {
    const param = key === null ? at : `${at}.${key}`;
    errors.add(param, 'INVALID_FIELD_VALUE', (n) => `${n(param)} must be ${expected}; got ${describeValue(value)}.`);
  };

  const ids = (filter: IdFilterInput, at: string, column: 'source_id' | 'person_id' | 'company_id'): RecordCondition | null => {
    const given = [...(isPresent(filter.eq) ? [filter.eq] : []), ...(filter.in ?? [])];
    if (isPresent(filter.in) && ((filter.in ?? []).length === 0 || (filter.in ?? []).length > MAX_IN_VALUES)) {
      misfitAt(at)('in', `a list of 1 to ${MAX_IN_VALUES} ids`, filter.in);
      return null;
    }
    if (given.length === 0) {
      misfitAt(at)(null, 'an id filter with eq or in', filter);
      return null;
    }
    const parsed = given.map((value) => idOf(value));
    const bad = parsed.indexOf(null);
    if (bad >= 0) {
      const key = isPresent(filter.eq) && bad === 0 ? 'eq' : `in[${bad - (isPresent(filter.eq) ? 1 : 0)}]`;
      const param = `${at}.${key}`;
      errors.add(param, 'INVALID_ID', (n) => `${n(param)} must be a positive integer id; got ${describeValue(given[bad])}.`);
      return null;
    }
    const conditions: RecordCondition[] = [];
    if (isPresent(filter.eq)) conditions.push({ kind: 'ids', column, ids: [parsed[0] ?? 0] });
    if (isPresent(filter.in)) conditions.push({ kind: 'ids', column, ids: parsed.slice(isPresent(filter.eq) ? 1 : 0).filter((id) => id !== null) });
    return conditions.length === 1 ? (conditions[0] ?? null) : { kind: 'and', of: conditions };
  };

  const times = (range: TimeRangeInput, at: string, column: 'display_ts' | 'created_at'): RecordCondition[] => {
    const conditions: RecordCondition[] = [];
    for (const op of rangeOperators) {
      const date = range[op];
      if (!isPresent(date) || !date) continue;
      if (!isStorableInstant(date)) misfitAt(at)(op, `an instant in years ${STORABLE_YEARS} UTC`, date.toISOString());
      else conditions.push({ kind: 'time', column, op, at: date });
    }
    if (conditions.length === 0 && !errors.list.some((error) => error.param.startsWith(`${at}.`))) misfitAt(at)(null, 'a range with at least one of gt, gte, lt, lte', range);
    return conditions;
  };

  const walk = (filter: RecordFilterInput, at: string, depth: number): RecordCondition | null => {
    if (depth > MAX_FILTER_DEPTH) {
      misfitAt(at)(null, `nested at most ${MAX_FILTER_DEPTH} levels deep (and, or, not)`, '…');
      return null;
    }
    const conditions: (RecordCondition | null)[] = [];
    for (const key of ['and', 'or'] as const) {
      const list = filter[key];
      if (!isPresent(list) || !list) continue;
      if (list.length === 0) {
        misfitAt(at)(key, 'a list of at least one filter', list);
        continue;
      }
      const of = list.map((item, index) => walk(item, `${at}.${key}[${index}]`, depth + 1));
      conditions.push(of.every((item) => item !== null) ? { kind: key, of } : null);
    }
    if (filter.not) {
      const of = walk(filter.not, `${at}.not`, depth + 1);
      conditions.push(of === null ? null : { kind: 'not', of });
    }
    for (const [key, column] of [['sourceId', 'source_id'], ['personId', 'person_id'], ['companyId', 'company_id']] as const) {
      const filterOf = filter[key];
      if (filterOf) {
        predicates += 1;
        conditions.push(ids(filterOf, `${at}.${key}`, column));
      }
    }
    for (const [key, column] of [['displayTs', 'display_ts'], ['createdAt', 'created_at']] as const) {
      const range = filter[key];
      if (range) {
        predicates += 1;
        conditions.push(...times(range, `${at}.${key}`, column));
      }
    }
    (filter.fields ?? []).forEach((field, index) => {
      predicates += 1;
      const predicate = checkFieldPredicate(field, misfitAt(`${at}.fields[${index}]`));
      conditions.push(predicate === null ? null : { kind: 'field', predicate });
    });
    if (conditions.length === 0) {
      misfitAt(at)(null, 'a filter with at least one condition', filter);
      return null;
    }
    if (conditions.some((condition) => condition === null)) return null;
    const checked = conditions.filter((condition) => condition !== null);
    return checked.length === 1 ? (checked[0] ?? null) : { kind: 'and', of: checked };
  };

  if (!input) return null;
  const before = errors.list.length;
  const condition = walk(input, path, 1);
  if (predicates > MAX_FILTER_PREDICATES) misfitAt(path)(null, `a filter of at most ${MAX_FILTER_PREDICATES} predicates`, `${predicates} predicates`);
  return errors.list.length === before ? condition : null;
}

/**
 * The text search reads of a record: its string fields of category content, as an English tsvector. The
 * database keeps it in the generated column search_vector with every write (record.entity.ts), under a
 * GIN index; ranking reads the stored vector instead of computing it for every match.
 */
export const SEARCH_DOCUMENT = (fields: string) =>
  `jsonb_to_tsvector('english'::regconfig, jsonb_path_query_array(${fields}, '$[*] ? (@.category == "content" && @.type == "string").value'), '["string"]')`;

const searchDocument = sql.ref('r.search_vector');
/** Web-search syntax: words, "quoted phrases", -exclusion and or. */
const searchQuery = (text: string) => sql`websearch_to_tsquery('english'::regconfig, ${text})`;

/** Records whose content matches the search. */
export function compileSearch(text: string): RawBuilder<unknown> {
  return sql`${searchDocument} @@ ${searchQuery(text)}`;
}

/** How well a record's content matches the search, for the RELEVANCE order. */
export function searchRank(text: string): RawBuilder<unknown> {
  return sql`ts_rank(${searchDocument}, ${searchQuery(text)})`;
}

export const MAX_SEARCH_LENGTH = 500;

/** A filter's fingerprint, which a cursor carries: the same filter always has the same one. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value, (_key, item: unknown) => (item instanceof Date ? item.toISOString() : item)) ?? 'null').digest('base64url').slice(0, 16);
}

const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;
/** `fields @> [{…}]`: the condition the GIN index on fields answers. */
const contains = (element: Record<string, unknown>) => sql`r."fields" @> ${json([element])}`;

const comparisons: Record<RangeOperator, RawBuilder<unknown>> = { gt: sql`>`, gte: sql`>=`, lt: sql`<`, lte: sql`<=` };

/** The value of field element `f` as a date or an instant, null when the field is of another type. */
function timeValue(kind: 'date' | 'datetime'): RawBuilder<unknown> {
  if (kind === 'date') return sql`(case when f->>'type' = 'date' then (f->>'value')::date end)`;
  return sql`(case when f->>'type' = 'datetime' then (f->>'value')::timestamptz end)`;
}

function timeBound(bound: { kind: 'date' | 'datetime'; value: string }): RawBuilder<unknown> {
  return bound.kind === 'date' ? sql`${bound.value}::date` : sql`${bound.value}::timestamptz`;
}

const isScalar = (value: unknown) => value === null || typeof value !== 'object';

// Numbers are read from a record's fields by jsonpath, which PostgreSQL evaluates in place, about twice
// as fast per row as a subquery over jsonb_array_elements. The path texts are built from constants
// only; the field's name and the bounds travel as the path's variables.
const NUMBER_ELEMENT = '@.name == $name && (@.type == "integer" || @.type == "float")';
const pathComparisons: Record<RangeOperator, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** Records whose number field `name` (integer or float) lies within every bound. */
function numberRanges(name: string, ranges: { op: RangeOperator; value: number }[]): RawBuilder<unknown> {
  const tests = ranges.map((range, index) => ` && @.value ${pathComparisons[range.op]} $b${index}`).join('');
  const variables = Object.fromEntries([['name', name], ...ranges.map((range, index) => [`b${index}`, range.value])]);
  return sql`jsonb_path_exists(r."fields", ${`$[*] ? (${NUMBER_ELEMENT}${tests})`}::jsonpath, ${JSON.stringify(variables)}::jsonb)`;
}

/** The value of the record's number field `name` (integer or float), null when it has none. */
export function numberValue(name: string): RawBuilder<unknown> {
  return sql`jsonb_path_query_first(r."fields", ${`$[*] ? (${NUMBER_ELEMENT}).value`}::jsonpath, ${JSON.stringify({ name })}::jsonb)::numeric`;
}

function compileField(predicate: FieldPredicate): RawBuilder<unknown> {
  const { name } = predicate;
  if (predicate.exists === false) return sql`not ${contains({ name })}`;
  // Conditions on the one element of this name; a scalar eq is exactly its containment.
  const onElement: RawBuilder<unknown>[] = [];
  const indexed: RawBuilder<unknown>[] = [];
  if (predicate.eq !== undefined) {
    indexed.push(contains({ name, value: predicate.eq }));
    if (!isScalar(predicate.eq)) onElement.push(sql`f->'value' = ${json(predicate.eq)}`);
  }
  if (predicate.in !== undefined) {
    indexed.push(sql`r."fields" @> any(${predicate.in.map((value) => JSON.stringify([{ name, value }]))}::jsonb[])`);
    if (!predicate.in.every(isScalar)) onElement.push(sql`f->'value' = any(${predicate.in.map((value) => JSON.stringify(value))}::jsonb[])`);
  }
  if (predicate.ne !== undefined) onElement.push(sql`f->'value' <> ${json(predicate.ne)}`);
  const numbers: { op: RangeOperator; value: number }[] = [];
  for (const { op, bound } of predicate.ranges) {
    if (bound.kind === 'number') numbers.push({ op, value: bound.value });
    else onElement.push(sql`${timeValue(bound.kind)} ${comparisons[op]} ${timeBound(bound)}`);
  }
  if (predicate.contains !== undefined) {
    const value = predicate.contains;
    if (typeof value === 'string') {
      onElement.push(sql`(case f->>'type' when 'string' then strpos(lower(f->>'value'), lower(${value})) > 0 when 'json' then f->'value' @> ${json(value)} else false end)`);
    } else if (isScalar(value)) {
      onElement.push(sql`(f->>'type' = 'json' and f->'value' @> ${json(value)})`);
    } else {
      // Names are unique within a record, so this containment is the whole condition, all of it indexed.
      indexed.push(contains({ name, type: 'json', value }));
    }
  }
  if (indexed.length === 0) indexed.push(contains({ name }));
  // Names are unique within a record: conditions on "the element of this name" may be checked apart.
  const element = [
    ...(numbers.length === 0 ? [] : [numberRanges(name, numbers)]),
    ...(onElement.length === 0 ? [] : [sql`exists (select 1 from jsonb_array_elements(r."fields") f where f->>'name' = ${name} and ${sql.join(onElement, sql` and `)})`]),
  ];
  return sql`(${sql.join([...indexed, ...element], sql` and `)})`;
}

/** The condition as SQL over `r` (feedback_record) in the organization; every value is a bound parameter. */
export function compileCondition(condition: RecordCondition, organizationId: number): RawBuilder<unknown> {
  switch (condition.kind) {
    case 'and':
    case 'or':
      return sql`(${sql.join(condition.of.map((item) => compileCondition(item, organizationId)), condition.kind === 'and' ? sql` and ` : sql` or `)})`;
    case 'not':
      // A condition on a missing value (a record without a person) is unknown; not of it holds.
      return sql`not coalesce(${compileCondition(condition.of, organizationId)}, false)`;
    case 'ids':
      if (condition.column === 'company_id') {
        return sql`r."person_id" in (select p."id" from "person" p where p."organization_id" = ${organizationId} and p."company_id" = any(${condition.ids}::bigint[]))`;
      }
      return sql`${sql.ref(`r.${condition.column}`)} = any(${condition.ids}::bigint[])`;
    case 'time':
      return sql`${sql.ref(`r.${condition.column}`)} ${comparisons[condition.op]} ${condition.at.toISOString()}::timestamptz`;
    case 'field':
      return compileField(condition.predicate);
  }
}

/** A filter's check, throwing every failure at once. */
export function parseRecordFilter(input: RecordFilterInput | null | undefined, path = 'filter'): RecordCondition | null {
  const errors = new FieldErrors();
  const condition = checkRecordFilter(input, path, errors);
  errors.throwIfAny();
  return condition;
}
