import { describe, expect, it } from 'vitest';
import { type FieldError, FieldErrors } from '../../src/errors/api-error.ts';
import { checkRecordFields, fieldCategories, fieldTypes } from '../../src/records/record-fields.ts';
import { characterCount, describeValue, hasUnstorableText, isCalendarDate, isRfc3339DateTime, isText, isWellFormedText, parseDateTime } from '../../src/validation/values.ts';

/** Runs the rules on `fields` and returns what they report. */
function check(fields: unknown, prefix?: string): { errors: FieldError[]; accepted: unknown[] } {
  const errors = new FieldErrors();
  const accepted = prefix === undefined ? checkRecordFields(fields, errors) : checkRecordFields(fields, errors, prefix);
  return { errors: errors.list, accepted };
}

function field(type: string, value: unknown, name = 'f'): Record<string, unknown> {
  return { category: 'metadata', type, name, value };
}

/** The failures of a single field, as `[param, code]` pairs. */
function failuresOf(type: string, value: unknown): [string, string][] {
  return check([field(type, value)]).errors.map((error) => [error.param, error.code]);
}

/** A JSON string value whose JSON text (quotes included) is exactly `bytes` bytes of UTF-8, made of `unit`. */
function stringOfJsonBytes(bytes: number, unit: string): string {
  const unitBytes = Buffer.byteLength(unit, 'utf8');
  const body = bytes - 2;
  const value = unit.repeat(Math.floor(body / unitBytes)) + 'a'.repeat(body % unitBytes);
  expect(Buffer.byteLength(JSON.stringify(value), 'utf8')).toBe(bytes);
  return value;
}

describe('checkRecordFields: categories and types', () => {
  it.each(['content', 'created_at', 'identifier', 'identity', 'metadata'])('accepts the category %s', (category) => {
    const { errors, accepted } = check([{ category, type: 'string', name: 'n', value: 'v' }]);
    expect(errors).toEqual([]);
    expect(accepted).toEqual([{ category, type: 'string', name: 'n', value: 'v' }]);
  });

  it('knows exactly the five categories of the contract', () => {
    expect([...fieldCategories].sort()).toEqual(['content', 'created_at', 'identifier', 'identity', 'metadata']);
  });

  it.each([
    ['boolean', true],
    ['date', '2025-09-30'],
    ['datetime', '2025-03-14T09:26:53Z'],
    ['float', 0.82],
    ['integer', 6],
    ['json', { replies: 2, participants: ['U01AB', 'U02CD'] }],
    ['string', 'Export to CSV times out'],
  ])('accepts the type %s with a matching value', (type, value) => {
    const { errors, accepted } = check([field(type, value)]);
    expect(errors).toEqual([]);
    expect(accepted).toEqual([field(type, value)]);
  });

  it('knows exactly the seven types of the contract', () => {
    expect([...fieldTypes].sort()).toEqual(['boolean', 'date', 'datetime', 'float', 'integer', 'json', 'string']);
  });

  it('rejects an unknown category with INVALID_FIELD_VALUE at fields[0].category, naming the value', () => {
    const { errors, accepted } = check([{ category: 'opinion', type: 'string', name: 'comment', value: 'x' }]);
    expect(errors).toEqual([{ param: 'fields[0].category', code: 'INVALID_FIELD_VALUE', message: expect.stringContaining('opinion') }]);
    expect(accepted).toEqual([]);
  });

  it('rejects an unknown type with INVALID_FIELD_VALUE at fields[0].type, naming the value', () => {
    const { errors } = check([{ category: 'content', type: 'text', name: 'comment', value: 'x' }]);
    expect(errors).toEqual([{ param: 'fields[0].type', code: 'INVALID_FIELD_VALUE', message: expect.stringContaining('text') }]);
  });

  it('rejects categories and types in another case (Content, STRING)', () => {
    const { errors } = check([{ category: 'Content', type: 'STRING', name: 'comment', value: 'x' }]);
    expect(errors.map((error) => error.param)).toEqual(['fields[0].category', 'fields[0].type']);
  });

  it('rejects a field that is not an object with INVALID_FIELD_VALUE at fields[0]', () => {
    const { errors } = check(['subject']);
    expect(errors).toEqual([{ param: 'fields[0]', code: 'INVALID_FIELD_VALUE', message: expect.any(String) }]);
  });
});

describe('checkRecordFields: values of type boolean', () => {
  it.each([true, false])('accepts %s', (value) => {
    expect(failuresOf('boolean', value)).toEqual([]);
  });

  it.each(['true', 0, 1, null])('rejects %j with INVALID_FIELD_VALUE at fields[0].value', (value) => {
    expect(failuresOf('boolean', value)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });
});

describe('checkRecordFields: values of type date', () => {
  it.each(['2025-09-30', '2024-02-29', '2000-02-29', '2025-12-31', '0001-01-01'])('accepts the real date %s', (value) => {
    expect(failuresOf('date', value)).toEqual([]);
  });

  it.each(['2025-02-29', '2025-02-30', '1900-02-29', '2025-04-31', '2025-13-01', '2025-00-10', '2025-01-00', '2025-01-32'])(
    'rejects %s, which is not a real date',
    (value) => {
      expect(failuresOf('date', value)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
    },
  );

  it.each(['2025-1-5', '20250105', '05/01/2025', '2025-01-05T00:00:00Z', ' 2025-01-05', '2025-01-05\n', ''])('rejects %j, which is not YYYY-MM-DD', (value) => {
    expect(failuresOf('date', value)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects a date that is not a string', () => {
    expect(failuresOf('date', 20250105)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('names the failing date in the message', () => {
    const { errors } = check([field('date', '2025-02-30')]);
    expect(errors[0]?.message).toContain('2025-02-30');
  });
});

describe('checkRecordFields: values of type datetime', () => {
  it.each([
    '2025-01-01T10:00:00Z',
    '2025-01-01T10:00:00+01:00',
    '2025-01-01T10:00:00-05:30',
    '2025-03-14T09:26:53.123Z',
    '2025-03-14T09:26:53.123456+00:00',
    '2024-02-29T23:59:59Z',
    '2016-12-31T23:59:60Z',
  ])('accepts the RFC 3339 date-time %s', (value) => {
    expect(failuresOf('datetime', value)).toEqual([]);
  });

  it.each([
    '2025-01-01 10:00',
    '2025-01-01T10:00:00',
    '2025-01-01T10:00',
    '2025-01-01T10:00Z',
    '2025-01-01T10:00:00+0100',
    '2025-01-01T10:00:00+01',
    '2025-01-01',
    '2025-02-29T10:00:00Z',
    '2025-01-01T24:00:00Z',
    '2025-01-01T10:60:00Z',
    '2025-01-01T10:00:00+24:00',
    'Wed, 01 Jan 2025 10:00:00 GMT',
  ])('rejects %s', (value) => {
    expect(failuresOf('datetime', value)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects a timestamp number', () => {
    expect(failuresOf('datetime', 1735725600000)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });
});

describe('checkRecordFields: values of type float', () => {
  it.each([0.82, 0, -3.5, 42, 1e300, Number.MIN_VALUE])('accepts the finite number %s', (value) => {
    expect(failuresOf('float', value)).toEqual([]);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '0.82', null, true])('rejects %s', (value) => {
    expect(failuresOf('float', value)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });
});

describe('checkRecordFields: values of type integer', () => {
  it.each([6, 0, -17, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])('accepts the safe integer %s', (value) => {
    expect(failuresOf('integer', value)).toEqual([]);
  });

  it.each([7.5, 2 ** 53, -(2 ** 53), Number.NaN, Number.POSITIVE_INFINITY, '6', null, true])('rejects %s', (value) => {
    expect(failuresOf('integer', value)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('names the failing integer in the message', () => {
    const { errors } = check([field('integer', 7.5)]);
    expect(errors[0]?.message).toContain('7.5');
  });
});

describe('checkRecordFields: values of type json', () => {
  it.each([
    ['null', null],
    ['a number', 0],
    ['a string', ''],
    ['a boolean', false],
    ['an empty list', []],
    ['an empty object', {}],
    ['nested lists and objects', { a: [1, { b: [null, 'x'] }], c: { d: true } }],
  ])('accepts %s', (_label, value) => {
    expect(failuresOf('json', value)).toEqual([]);
  });

  it('rejects a field without a value', () => {
    const { errors } = check([{ category: 'metadata', type: 'json', name: 'tags' }]);
    expect(errors.map((error) => [error.param, error.code])).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });
});

describe('checkRecordFields: values of type string', () => {
  it.each(['', 'Great product 😕', 'María García', 'line\nbreak'])('accepts %j', (value) => {
    expect(failuresOf('string', value)).toEqual([]);
  });

  it.each([42, null, true, ['a'], { a: 'b' }])('rejects %j', (value) => {
    expect(failuresOf('string', value)).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });
});

describe('checkRecordFields: the 10,240-byte limit on the JSON text of a value', () => {
  it('accepts a string value of exactly 10,240 bytes of JSON text', () => {
    expect(failuresOf('string', stringOfJsonBytes(10_240, 'a'))).toEqual([]);
  });

  it('answers FIELD_VALUE_TOO_LARGE for a string value of 10,241 bytes of JSON text', () => {
    expect(failuresOf('string', stringOfJsonBytes(10_241, 'a'))).toEqual([['fields[0].value', 'FIELD_VALUE_TOO_LARGE']]);
  });

  it.each([
    ['é (2 bytes)', 'é'],
    ['€ (3 bytes)', '€'],
    ['😕 (4 bytes)', '😕'],
  ])('counts UTF-8 bytes, not characters: %s accepted at exactly 10,240 bytes', (_label, unit) => {
    expect(failuresOf('string', stringOfJsonBytes(10_240, unit))).toEqual([]);
  });

  it.each([
    ['é (2 bytes)', 'é'],
    ['€ (3 bytes)', '€'],
    ['😕 (4 bytes)', '😕'],
  ])('counts UTF-8 bytes, not characters: %s rejected at 10,241 bytes', (_label, unit) => {
    const value = stringOfJsonBytes(10_241, unit);
    expect(value.length).toBeLessThan(10_240);
    expect(failuresOf('string', value)).toEqual([['fields[0].value', 'FIELD_VALUE_TOO_LARGE']]);
  });

  it('counts the escapes of the JSON text: 5,119 double quotes (10,240 bytes) pass, 5,120 (10,242 bytes) do not', () => {
    expect(failuresOf('string', '"'.repeat(5_119))).toEqual([]);
    expect(failuresOf('string', '"'.repeat(5_120))).toEqual([['fields[0].value', 'FIELD_VALUE_TOO_LARGE']]);
  });

  it('applies to json values: an object of exactly 10,240 bytes of JSON text passes', () => {
    const value = { k: 'ü'.repeat(5_116) };
    expect(Buffer.byteLength(JSON.stringify(value), 'utf8')).toBe(10_240);
    expect(failuresOf('json', value)).toEqual([]);
  });

  it('applies to json values: an object of 10,241 bytes of JSON text answers FIELD_VALUE_TOO_LARGE', () => {
    const value = { k: `${'ü'.repeat(5_116)}a` };
    expect(Buffer.byteLength(JSON.stringify(value), 'utf8')).toBe(10_241);
    expect(failuresOf('json', value)).toEqual([['fields[0].value', 'FIELD_VALUE_TOO_LARGE']]);
  });

  it('applies to json lists of numbers', () => {
    const value = Array.from({ length: 5_121 }, () => 1);
    expect(JSON.stringify(value).length).toBe(10_243);
    expect(failuresOf('json', value)).toEqual([['fields[0].value', 'FIELD_VALUE_TOO_LARGE']]);
  });

  it('states the size and the limit in the message', () => {
    const { errors } = check([field('string', stringOfJsonBytes(10_241, 'a'))]);
    expect(errors[0]?.message).toMatch(/10,?241/);
    expect(errors[0]?.message).toMatch(/10,?240/);
  });
});

describe('checkRecordFields: names', () => {
  it('accepts a name of 1 character', () => {
    expect(check([field('string', 'x', 'a')]).errors).toEqual([]);
  });

  it('accepts a name of 255 characters', () => {
    expect(check([field('string', 'x', 'n'.repeat(255))]).errors).toEqual([]);
  });

  it('accepts a name of 255 characters outside the Basic Multilingual Plane', () => {
    expect(check([field('string', 'x', '😕'.repeat(255))]).errors).toEqual([]);
  });

  it('rejects a name of 256 characters outside the Basic Multilingual Plane', () => {
    expect(check([field('string', 'x', '😕'.repeat(256))]).errors.map((error) => [error.param, error.code])).toEqual([['fields[0].name', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects an empty name with INVALID_FIELD_VALUE at fields[0].name', () => {
    expect(check([field('string', 'x', '')]).errors.map((error) => [error.param, error.code])).toEqual([['fields[0].name', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects a name of 256 characters', () => {
    expect(check([field('string', 'x', 'n'.repeat(256))]).errors.map((error) => [error.param, error.code])).toEqual([['fields[0].name', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects a name that is not a string', () => {
    expect(check([{ category: 'content', type: 'string', name: 7, value: 'x' }]).errors.map((error) => error.param)).toEqual(['fields[0].name']);
  });

  it('rejects the second field with a name already used in the record, at its own path', () => {
    const { errors } = check([field('string', 'x', 'comment'), field('string', 'y', 'other'), field('string', 'z', 'comment')]);
    expect(errors).toEqual([{ param: 'fields[2].name', code: 'INVALID_FIELD_VALUE', message: expect.stringContaining('comment') }]);
  });

  it('treats names that differ only in case as different names', () => {
    expect(check([field('string', 'x', 'Comment'), field('string', 'y', 'comment')]).errors).toEqual([]);
  });
});

describe('checkRecordFields: U+0000 is rejected in every text', () => {
  it('rejects U+0000 in a string value', () => {
    expect(failuresOf('string', 'before\u0000after')).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects U+0000 in a name', () => {
    expect(check([field('string', 'x', 'na\u0000me')]).errors.map((error) => [error.param, error.code])).toEqual([['fields[0].name', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects U+0000 in a string nested deep in a json value', () => {
    expect(failuresOf('json', { thread: { messages: [{ text: 'ok' }, { text: 'bad\u0000' }] } })).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects U+0000 in a key of a json value', () => {
    expect(failuresOf('json', { 'k\u0000': 1 })).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects U+0000 in a json value that is a string', () => {
    expect(failuresOf('json', '\u0000')).toEqual([['fields[0].value', 'INVALID_FIELD_VALUE']]);
  });

  it('accepts the escaped text "\\u0000" (a backslash, not the character)', () => {
    expect(failuresOf('string', '\\u0000')).toEqual([]);
  });
});

describe('checkRecordFields: number of fields', () => {
  it('accepts 1 field', () => {
    expect(check([field('string', 'x')]).errors).toEqual([]);
  });

  it('accepts 100 fields', () => {
    const fields = Array.from({ length: 100 }, (_, i) => field('integer', i, `f${i}`));
    const { errors, accepted } = check(fields);
    expect(errors).toEqual([]);
    expect(accepted).toHaveLength(100);
  });

  it('rejects 0 fields with INVALID_FIELD_VALUE at fields', () => {
    expect(check([]).errors.map((error) => [error.param, error.code])).toEqual([['fields', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects 101 fields with INVALID_FIELD_VALUE at fields', () => {
    const fields = Array.from({ length: 101 }, (_, i) => field('integer', i, `f${i}`));
    expect(check(fields).errors.map((error) => [error.param, error.code])).toEqual([['fields', 'INVALID_FIELD_VALUE']]);
  });

  it('rejects fields that are not a list', () => {
    expect(check({ subject: 'x' }).errors.map((error) => [error.param, error.code])).toEqual([['fields', 'INVALID_FIELD_VALUE']]);
  });
});

describe('checkRecordFields: every failing field is reported', () => {
  it('reports the five failures of the invalid-record example, each with its path, in order', () => {
    const { errors, accepted } = check([
      { category: 'opinion', type: 'string', name: 'comment', value: 'x' },
      { category: 'metadata', type: 'integer', name: 'score', value: 7.5 },
      { category: 'metadata', type: 'date', name: 'due', value: '2025-02-30' },
      { category: 'created_at', type: 'datetime', name: 'opened', value: '2025-01-01 10:00' },
      { category: 'content', type: 'string', name: 'comment', value: 'duplicate name' },
    ]);
    expect(errors.map((error) => [error.param, error.code])).toEqual([
      ['fields[0].category', 'INVALID_FIELD_VALUE'],
      ['fields[1].value', 'INVALID_FIELD_VALUE'],
      ['fields[2].value', 'INVALID_FIELD_VALUE'],
      ['fields[3].value', 'INVALID_FIELD_VALUE'],
      ['fields[4].name', 'INVALID_FIELD_VALUE'],
    ]);
    expect(accepted).toEqual([]);
  });

  it('reports every failure of one field (category, name and value)', () => {
    const { errors } = check([{ category: 'opinion', type: 'integer', name: '', value: 'seven' }]);
    expect(errors.map((error) => error.param)).toEqual(['fields[0].category', 'fields[0].name', 'fields[0].value']);
  });

  it('reports too-large values next to invalid ones', () => {
    const { errors } = check([field('string', 'ok', 'a'), field('string', stringOfJsonBytes(10_241, 'a'), 'b'), field('boolean', 'yes', 'c')]);
    expect(errors.map((error) => [error.param, error.code])).toEqual([
      ['fields[1].value', 'FIELD_VALUE_TOO_LARGE'],
      ['fields[2].value', 'INVALID_FIELD_VALUE'],
    ]);
  });

  it('places the paths under the given prefix', () => {
    const { errors } = check([field('string', 'ok', 'a'), field('integer', 7.5, 'b')], 'records[3].fields');
    expect(errors.map((error) => error.param)).toEqual(['records[3].fields[1].value']);
  });

  it('returns only the valid fields, unchanged, when nothing failed', () => {
    const fields = [
      { category: 'content', type: 'string', name: 'subject', value: 'Export times out' },
      { category: 'metadata', type: 'json', name: 'tags', value: ['export', 'performance'] },
      { category: 'created_at', type: 'datetime', name: 'opened', value: '2025-03-14T09:26:53+01:00' },
    ];
    expect(check(fields).accepted).toEqual(fields);
  });
});

describe('isCalendarDate', () => {
  it.each(['2024-02-29', '2000-02-29', '2025-02-28', '2025-04-30'])('accepts %s', (value) => {
    expect(isCalendarDate(value)).toBe(true);
  });

  it.each(['2025-02-29', '2025-02-30', '1900-02-29', '2025-04-31', '2025-13-01', '2025-1-01', '2025-01-01T00:00:00Z'])('rejects %s', (value) => {
    expect(isCalendarDate(value)).toBe(false);
  });
});

describe('isRfc3339DateTime', () => {
  it.each(['2025-01-01T10:00:00Z', '2025-01-01T10:00:00+01:00', '2025-01-01T10:00:00.5-08:00'])('accepts %s', (value) => {
    expect(isRfc3339DateTime(value)).toBe(true);
  });

  it.each(['2025-01-01 10:00', '2025-01-01T10:00:00', '2025-02-30T10:00:00Z', '2025-01-01T25:00:00Z'])('rejects %s', (value) => {
    expect(isRfc3339DateTime(value)).toBe(false);
  });
});

describe('parseDateTime', () => {
  it('converts an offset to the same instant in UTC', () => {
    expect(parseDateTime('2025-03-14T09:26:53+01:00')?.toISOString()).toBe('2025-03-14T08:26:53.000Z');
  });

  it('keeps milliseconds', () => {
    expect(parseDateTime('2025-03-14T09:26:53.250Z')?.toISOString()).toBe('2025-03-14T09:26:53.250Z');
  });

  it('reads a leap second as the last second of its minute', () => {
    expect(parseDateTime('2016-12-31T23:59:60Z')?.toISOString()).toBe('2016-12-31T23:59:59.000Z');
  });

  it.each(['2025-01-01T10:00:00', '2025-02-30T10:00:00Z', 'yesterday'])('answers null for %s', (value) => {
    expect(parseDateTime(value)).toBeNull();
  });
});

describe('isWellFormedText and hasUnstorableText', () => {
  it('rejects U+0000 in text', () => {
    expect(isWellFormedText('a\u0000b')).toBe(false);
    expect(isWellFormedText('María 😕')).toBe(true);
  });

  it('finds U+0000 in nested values and keys, and nowhere else', () => {
    expect(hasUnstorableText({ a: [{ b: 'x\u0000' }] })).toBe(true);
    expect(hasUnstorableText({ 'x\u0000': 1 })).toBe(true);
    expect(hasUnstorableText({ a: [{ b: 'x' }], c: null, d: 1 })).toBe(false);
  });
});

describe('isText and characterCount', () => {
  it('counts characters (code points), not UTF-16 units', () => {
    expect(characterCount('😕é a')).toBe(4);
  });

  it('accepts 1 to max characters, whatever their UTF-8 or UTF-16 size', () => {
    expect(isText('a', 3)).toBe(true);
    expect(isText('😕😕😕', 3)).toBe(true);
    expect(isText('😕😕😕😕', 3)).toBe(false);
  });

  it('rejects the empty string, non-strings and U+0000', () => {
    expect(isText('', 3)).toBe(false);
    expect(isText(12, 3)).toBe(false);
    expect(isText('a\u0000', 3)).toBe(false);
  });
});

describe('describeValue', () => {
  it('shows the value as JSON', () => {
    expect(describeValue('2025-02-30')).toBe('"2025-02-30"');
    expect(describeValue(7.5)).toBe('7.5');
  });

  it('says nothing was given for a missing value', () => {
    expect(describeValue(undefined)).toBe('nothing');
  });

  it('shortens long values to at most 80 characters', () => {
    const text = describeValue('x'.repeat(10_000));
    expect(text.length).toBeLessThanOrEqual(80);
    expect(text.endsWith('...')).toBe(true);
  });

  it('never cuts a character in half when shortening', () => {
    expect(describeValue(`a${'😕'.repeat(100)}`).isWellFormed()).toBe(true);
  });
});
