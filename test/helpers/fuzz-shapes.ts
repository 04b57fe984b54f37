import fc from 'fast-check';
import {
  type GraphQLInputType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { z } from 'zod';
import { fieldCategories, fieldTypes } from '../../src/records/record-fields.ts';
import {
  edgeDate,
  hostileDate,
  hostileJson,
  hostileKey,
  hostileNumber,
  hostileScalar,
  hostileString,
  RawJson,
  rawNumber,
  toJsonText,
  validDate,
  validDateTime,
} from './fuzz-values.ts';

/** The tables whose rows a path parameter or an id argument can name. */
export type Table = 'feedback_source' | 'person' | 'feedback_record';

/**
 * The shape of a request body or of a mutation's variables, read from the route's zod schema or
 * from the GraphQL argument types, so that a new route or mutation is fuzzed without a list to update.
 */
export type Shape =
  | { kind: 'object'; fields: Record<string, Field> }
  | { kind: 'array'; item: Shape }
  | { kind: 'string'; options?: readonly string[] }
  | { kind: 'id'; table: Table | null }
  | { kind: 'integer' }
  | { kind: 'number' }
  | { kind: 'boolean' }
  | { kind: 'any' };

export interface Field {
  shape: Shape;
  required: boolean;
  nullable: boolean;
}

/** `person_id`, `personId`, `sourceId`, `record_id` name their table; a bare `id` takes the one of its context. */
export function tableOfKey(key: string, context: Table | null): Table | null {
  const name = key.replace(/_/g, '').toLowerCase();
  if (name === 'id') return context;
  if (name === 'sourceid' || name === 'feedbacksourceid') return 'feedback_source';
  if (name === 'personid') return 'person';
  if (name === 'recordid') return 'feedback_record';
  return null;
}

function isIdKey(key: string): boolean {
  return key === 'id' || ((/_id$/.test(key) || /[a-z]Id$/.test(key)) && !/^external_?[iI]d$/.test(key));
}

function unwrapZod(schema: z.ZodType): { inner: z.ZodType; required: boolean; nullable: boolean } {
  let inner = schema;
  let required = true;
  let nullable = false;
  for (;;) {
    if (inner instanceof z.ZodOptional) {
      required = false;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodNullable) {
      nullable = true;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodDefault) {
      required = false;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodPipe) {
      // A schema that converts what it parses (a query's "true" to true): requests carry its input.
      inner = inner.in as z.ZodType;
    } else {
      return { inner, required, nullable };
    }
  }
}

function metaEnum(schema: z.ZodType): readonly string[] | undefined {
  const values = schema.meta()?.enum;
  return Array.isArray(values) && values.every((value) => typeof value === 'string') ? values : undefined;
}

/** A REST body schema (zod) as a Shape. */
export function shapeOfZod(schema: z.ZodType, key = '', context: Table | null = null): Shape {
  const { inner } = unwrapZod(schema);
  if (inner instanceof z.ZodObject) {
    const fields: Record<string, Field> = {};
    for (const [name, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
      const { required, nullable } = unwrapZod(child);
      fields[name] = { shape: shapeOfZod(child, name, context), required, nullable };
    }
    return { kind: 'object', fields };
  }
  if (inner instanceof z.ZodArray) return { kind: 'array', item: shapeOfZod(inner.element as z.ZodType, key, context) };
  if (isIdKey(key) && (inner instanceof z.ZodUnion || inner instanceof z.ZodNumber || inner instanceof z.ZodString)) return { kind: 'id', table: tableOfKey(key, context) };
  if (inner instanceof z.ZodEnum) return { kind: 'string', options: inner.options.map(String) };
  if (inner instanceof z.ZodString) {
    const options = metaEnum(inner);
    return options ? { kind: 'string', options } : { kind: 'string' };
  }
  if (inner instanceof z.ZodNumber) return inner.format === 'safeint' || inner.format === 'int32' ? { kind: 'integer' } : { kind: 'number' };
  if (inner instanceof z.ZodBoolean) return { kind: 'boolean' };
  return { kind: 'any' };
}

/** A GraphQL input type as a Shape; `context` is the table a bare `id` argument names. */
export function shapeOfGraphQL(type: GraphQLInputType, key = '', context: Table | null = null): Shape {
  const nullable = isNonNullType(type) ? type.ofType : type;
  if (isListType(nullable)) return { kind: 'array', item: shapeOfGraphQL(nullable.ofType, key, context) };
  if (isInputObjectType(nullable)) {
    const fields: Record<string, Field> = {};
    for (const field of Object.values(nullable.getFields())) {
      const required = isNonNullType(field.type) && field.defaultValue === undefined;
      fields[field.name] = { shape: shapeOfGraphQL(field.type, field.name, context), required, nullable: !isNonNullType(field.type) };
    }
    return { kind: 'object', fields };
  }
  if (isEnumType(nullable)) return { kind: 'string', options: nullable.getValues().map((value) => value.name) };
  const named = getNamedType(nullable);
  if (isScalarType(named)) {
    switch (named.name) {
      case 'ID':
        return { kind: 'id', table: tableOfKey(key, context) };
      case 'String':
      case 'DateTime':
        return { kind: 'string' };
      case 'Int':
        return { kind: 'integer' };
      case 'Float':
        return { kind: 'number' };
      case 'Boolean':
        return { kind: 'boolean' };
    }
  }
  return { kind: 'any' };
}

/**
 * An id chosen when the request is sent, since rows come and go as the run deletes them: an
 * existing row of the caller's organization, one of another organization, or one that never existed.
 */
export class IdSlot {
  readonly table: Table | null;
  readonly owner: 'own' | 'foreign' | 'missing';
  readonly pick: number;
  readonly form: 'number' | 'string';

  constructor(table: Table | null, owner: 'own' | 'foreign' | 'missing', pick: number, form: 'number' | 'string') {
    this.table = table;
    this.owner = owner;
    this.pick = pick;
    this.form = form;
  }

  [fc.toStringMethod](): string {
    return `id(${this.owner} ${this.table ?? '?'} #${this.pick} as ${this.form})`;
  }
}

export function idSlot(table: Table | null): fc.Arbitrary<IdSlot> {
  return fc
    .record({ owner: fc.constantFrom<'own' | 'foreign' | 'missing'>('own', 'own', 'own', 'own', 'foreign', 'missing'), pick: fc.nat({ max: 1_000 }), form: fc.constantFrom<'number' | 'string'>('number', 'string') })
    .map(({ owner, pick, form }) => new IdSlot(table, owner, pick, form));
}

/** Ids that are not ids: text, zero, negatives, past 2^53; all still GraphQL-coercible to ID. */
const hostileId: fc.Arbitrary<unknown> = fc.oneof(hostileString, fc.constantFrom(0, -0, -1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 63, 1e21));

/** Replaces every IdSlot in a generated value by the id `resolve` picks. */
export async function resolveIds(value: unknown, resolve: (slot: IdSlot) => Promise<number>): Promise<unknown> {
  if (value instanceof IdSlot) {
    const id = await resolve(value);
    return value.form === 'string' ? String(id) : id;
  }
  // One at a time, in key order: a resolver may seed rows, and may look at what it resolved before.
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) items.push(await resolveIds(item, resolve));
    return items;
  }
  if (typeof value === 'object' && value !== null && !(value instanceof RawJson)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) Object.defineProperty(copy, key, { value: await resolveIds(item, resolve), enumerable: true, writable: true, configurable: true });
    return copy;
  }
  return value;
}

const anyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 });

/** Values a real client sends for the API's field names (SPEC §6), with collisions on purpose. */
const valuesByKey: Record<string, fc.Arbitrary<unknown>> = {
  name: fc.oneof(fc.constantFrom('Zendesk Support Tickets', 'NPS Survey', 'subject', 'tags', 'Northwind Traders'), fc.nat({ max: 50 }).map((n) => `Fuzz ${n}`), anyText),
  type: fc.constantFrom('api', 'support_tickets', 'survey', 'chat', 'Survey', 'x'.repeat(64), 'x'.repeat(65)),
  description: fc.oneof(anyText, fc.constant(''), fc.constantFrom('d'.repeat(2000), 'd'.repeat(2001), '\u{1f600}'.repeat(2000))),
  email: fc.oneof(fc.emailAddress(), fc.constantFrom('maria.garcia@northwind.example', 'MARIA.GARCIA@NORTHWIND.EXAMPLE', 'ops@globex.example')),
  externalid: fc.oneof(fc.nat({ max: 30 }).map((n) => `ext-${n}`), fc.constantFrom('zendesk-48213', 'p-1'), anyText),
  firstname: anyText,
  lastname: anyText,
  phone: fc.constantFrom('+14155550123', '+34912345678', '+442071838750', '+4915112345678', '+1', '+999999999999999', '+1 (415) 555-0123', '+0123456789'),
  boundary: fc.constantFrom('external', 'internal', 'External', ''),
  domain: fc.oneof(fc.domain(), fc.constantFrom('northwind.example', 'NorthWind.Example', 'globex.example', 'a.b')),
  displayts: fc.oneof(validDateTime, hostileDate, edgeDate, edgeDate),
  category: fc.constantFrom(...fieldCategories),
  cascade: fc.constantFrom('true', 'false'),
};

function keyed(key: string): fc.Arbitrary<unknown> | undefined {
  return valuesByKey[key.replace(/_/g, '').toLowerCase()];
}

/** A value of the given record field type, often valid, sometimes at its edges. */
export function fieldValue(type: string): fc.Arbitrary<unknown> {
  const mostly = (valid: fc.Arbitrary<unknown>, ...hostile: fc.Arbitrary<unknown>[]) => fc.oneof({ weight: 3, arbitrary: valid }, ...hostile.map((arbitrary) => ({ weight: 1, arbitrary })));
  switch (type) {
    case 'boolean':
      return fc.boolean();
    case 'date':
      return mostly(validDate, hostileDate);
    case 'datetime':
      return mostly(validDateTime, hostileDate, edgeDate);
    case 'float':
      return mostly(fc.double({ noNaN: true, noDefaultInfinity: true }), hostileNumber, rawNumber);
    case 'integer':
      return mostly(fc.maxSafeInteger(), hostileNumber, rawNumber);
    case 'json':
      return mostly(fc.jsonValue({ maxDepth: 3 }), hostileJson);
    default:
      return mostly(anyText, hostileString);
  }
}

export interface ShapeOptions {
  /** Keep every value of the type the shape declares (for GraphQL variables that must coerce). */
  typed: boolean;
}

const ABSENT = Symbol('absent');

/**
 * Values of the shape, filled with what a client would send and, often, hostile text, numbers and
 * dates of the right type; missing optional keys and nulls where allowed.
 */
export function plausible(shape: Shape, key: string, options: ShapeOptions): fc.Arbitrary<unknown> {
  switch (shape.kind) {
    case 'object':
      return plausibleObject(shape.fields, options);
    case 'array':
      return fc.array(plausible(shape.item, key, options), { minLength: 1, maxLength: 4 });
    case 'string': {
      if (shape.options) return fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...shape.options) }, { weight: 1, arbitrary: hostileString });
      const known = keyed(key);
      const text = known ? known.filter((value) => typeof value === 'string') : anyText;
      return fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: hostileDate });
    }
    case 'id':
      return fc.oneof({ weight: 5, arbitrary: idSlot(shape.table) }, { weight: 1, arbitrary: hostileId });
    case 'integer':
      return options.typed ? fc.integer() : fc.oneof(fc.integer(), hostileNumber, rawNumber);
    case 'number':
      return options.typed ? fc.double({ noNaN: true, noDefaultInfinity: true }) : fc.oneof(hostileNumber, rawNumber);
    case 'boolean':
      return fc.boolean();
    case 'any':
      return hostileJson;
  }
}

function plausibleObject(fields: Record<string, Field>, options: ShapeOptions): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(fields);
  // A record field: its value follows its type, so that the value checks behind the type checks run.
  if (['category', 'type', 'name', 'value'].every((name) => names.includes(name))) {
    return fc
      .tuple(
        fc.oneof({ weight: 8, arbitrary: fc.constantFrom<string>(...fieldTypes) }, { weight: 1, arbitrary: hostileString }),
        fc.oneof({ weight: 8, arbitrary: fc.constantFrom<string>(...fieldCategories) }, { weight: 1, arbitrary: hostileString }),
        fc.oneof(fc.nat({ max: 6 }).map((n) => `f${n}`), anyText, hostileString),
      )
      .chain(([type, category, name]) => fieldValue(type).map((value) => ({ category, type, name, value })));
  }
  const entries: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, field] of Object.entries(fields)) {
    let value = plausible(field.shape, name, options);
    if (field.nullable) value = fc.oneof({ weight: 8, arbitrary: value }, { weight: 1, arbitrary: fc.constant(null) });
    entries[name] = field.required ? value : fc.oneof({ weight: 2, arbitrary: value }, { weight: 1, arbitrary: fc.constant(ABSENT) });
  }
  return fc.record(entries).map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== ABSENT)));
}

type Path = (string | number)[];

function pathsOf(value: unknown, path: Path = []): Path[] {
  const paths: Path[] = [path];
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) paths.push(...pathsOf(item, [...path, index]));
  } else if (typeof value === 'object' && value !== null && !(value instanceof RawJson) && !(value instanceof IdSlot)) {
    for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...path, key]));
  }
  return paths;
}

function update(value: unknown, path: Path, change: (target: unknown) => unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return change(value);
  if (Array.isArray(value) && typeof head === 'number') return value.map((item, index) => (index === head ? update(item, rest, change) : item));
  if (typeof value === 'object' && value !== null && typeof head === 'string') {
    // defineProperty, not assignment: a generated "__proto__" key must stay a plain key.
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) Object.defineProperty(copy, key, { value: key === head ? update(item, rest, change) : item, enumerable: true, writable: true, configurable: true });
    return copy;
  }
  return value;
}

function withKey(target: unknown, key: string, item: unknown): unknown {
  if (typeof target !== 'object' || target === null || Array.isArray(target) || target instanceof RawJson || target instanceof IdSlot) return target;
  const copy: Record<string, unknown> = { ...target };
  Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
  return copy;
}

function withoutKey(value: unknown, path: Path): unknown {
  const last = path.at(-1);
  if (last === undefined) return value;
  return update(value, path.slice(0, -1), (parent) => {
    if (Array.isArray(parent)) return parent.filter((_, index) => index !== last);
    if (typeof parent === 'object' && parent !== null) return Object.fromEntries(Object.entries(parent).filter(([key]) => key !== last));
    return parent;
  });
}

export interface Edit {
  pick: number;
  kind: 'replace' | 'remove' | 'add-key' | 'wrap' | 'stringify';
  key: string;
  replacement: unknown;
}

const edit: fc.Arbitrary<Edit> = fc.record({
  pick: fc.nat(),
  kind: fc.constantFrom<Edit['kind']>('replace', 'replace', 'replace', 'remove', 'add-key', 'wrap', 'stringify'),
  key: hostileKey,
  replacement: fc.oneof({ weight: 3, arbitrary: hostileScalar }, { weight: 2, arbitrary: hostileJson }),
});

/** Applies an edit at one place of the value (the root included): a hostile value, a key removed or added, a value wrapped or turned into text. */
export function applyEdit(value: unknown, change: Edit): unknown {
  const paths = pathsOf(value);
  const path = paths[change.pick % paths.length] ?? [];
  switch (change.kind) {
    case 'replace':
      return update(value, path, () => change.replacement);
    case 'remove':
      return withoutKey(value, path);
    case 'add-key':
      return update(value, path, (target) => withKey(target, change.key, change.replacement));
    case 'wrap':
      return update(value, path, (target) => [target]);
    case 'stringify':
      return update(value, path, (target) => (target instanceof IdSlot ? target : toJsonText(target)));
  }
}

/** A plausible value with one to three hostile edits. */
export function edited(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 3 })).map(([value, edits]) => edits.reduce(applyEdit, value));
}

/** JSON texts that do not parse, cut from real bodies or written by hand. */
export function brokenJson(base: fc.Arbitrary<unknown>): fc.Arbitrary<RawJson> {
  return fc.oneof(
    fc.tuple(base, fc.nat()).map(([value, cut]) => {
      const text = toJsonText(value);
      return new RawJson(text.slice(0, cut % Math.max(text.length, 1)), 'truncated body');
    }),
    fc.constantFrom('', ' ', 'nul', '{', '{"a":1,}', "{'a':1}", '{"a":NaN}', '{"a":Infinity}', '[1,]', '"\\ud800"', '{"a":"\\u0000"}', '\ufeff{}', '{"a":1}{"b":2}', '{"a":01}', '{"a":.5}', '{"a":1e}', '{"a":"\t"}').map((text) => new RawJson(text)),
  );
}
