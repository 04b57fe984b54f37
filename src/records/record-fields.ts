import type { FieldErrors } from '../errors/api-error.ts';
import { describeValue, hasNonFiniteNumber, hasUnstorableText, isCalendarDate, isRfc3339DateTime, isText, jsonDepth, MAX_JSON_DEPTH } from '../validation/values.ts';
import { MAX_FIELDS, MAX_NAME_LENGTH, MAX_VALUE_BYTES } from './record.limits.ts';

export const fieldCategories = ['content', 'created_at', 'identifier', 'identity', 'metadata'] as const;
export const fieldTypes = ['boolean', 'date', 'datetime', 'float', 'integer', 'json', 'string'] as const;

export type FieldCategory = (typeof fieldCategories)[number];
export type FieldType = (typeof fieldTypes)[number];

export interface RecordField {
  category: FieldCategory;
  type: FieldType;
  name: string;
  value: unknown;
}

export { MAX_FIELDS, MAX_NAME_LENGTH, MAX_VALUE_BYTES };

const valueChecks: Record<FieldType, { accepts: (value: unknown) => boolean; expected: string }> = {
  boolean: { accepts: (value) => typeof value === 'boolean', expected: 'a boolean' },
  date: { accepts: (value) => typeof value === 'string' && isCalendarDate(value), expected: 'a real date as YYYY-MM-DD' },
  datetime: {
    accepts: (value) => typeof value === 'string' && isRfc3339DateTime(value),
    expected: 'an RFC 3339 date-time with an offset, e.g. 2025-03-14T09:26:53Z',
  },
  float: { accepts: (value) => typeof value === 'number' && Number.isFinite(value), expected: 'a finite number' },
  integer: { accepts: (value) => Number.isSafeInteger(value), expected: 'a safe integer' },
  json: { accepts: (value) => value !== undefined, expected: 'any JSON value' },
  string: { accepts: (value) => typeof value === 'string', expected: 'a string' },
};

function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

/**
 * Checks the fields of one record and reports every failure with its path (`fields[2].value`).
 * `prefix` places the paths inside a larger input, e.g. `records[3].fields`.
 */
export function checkRecordFields(input: unknown, errors: FieldErrors, prefix = 'fields'): RecordField[] {
  if (!Array.isArray(input)) {
    errors.add(prefix, 'INVALID_FIELD_VALUE', (n) => `${n(prefix)} must be a list of 1 to ${MAX_FIELDS} fields.`);
    return [];
  }
  if (input.length === 0 || input.length > MAX_FIELDS) {
    errors.add(prefix, 'INVALID_FIELD_VALUE', (n) => `${n(prefix)} must hold 1 to ${MAX_FIELDS} fields; got ${input.length}.`);
    return [];
  }
  const seenNames = new Set<string>();
  const fields: RecordField[] = [];
  input.forEach((item: unknown, index) => {
    const path = `${prefix}[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.add(path, 'INVALID_FIELD_VALUE', (n) => `${n(path)} must be an object with category, type, name and value.`);
      return;
    }
    const { category, type, name, value } = item as Record<string, unknown>;
    const before = errors.list.length;
    if (!isOneOf(fieldCategories, category)) {
      errors.add(`${path}.category`, 'INVALID_FIELD_VALUE', (n) => `${n(`${path}.category`)} must be one of ${fieldCategories.join(', ')}; got ${describeValue(category)}.`);
    }
    if (!isOneOf(fieldTypes, type)) {
      errors.add(`${path}.type`, 'INVALID_FIELD_VALUE', (n) => `${n(`${path}.type`)} must be one of ${fieldTypes.join(', ')}; got ${describeValue(type)}.`);
    }
    if (!isText(name, MAX_NAME_LENGTH)) {
      errors.add(`${path}.name`, 'INVALID_FIELD_VALUE', (n) => `${n(`${path}.name`)} must be 1 to ${MAX_NAME_LENGTH} characters without U+0000; got ${describeValue(name)}.`);
    } else if (seenNames.has(name)) {
      errors.add(`${path}.name`, 'INVALID_FIELD_VALUE', (n) => `${n(`${path}.name`)} must be unique within the record; "${name}" appears more than once.`);
    } else {
      seenNames.add(name);
    }
    if (isOneOf(fieldTypes, type)) checkValue(value, type, `${path}.value`, errors);
    if (errors.list.length === before && isOneOf(fieldCategories, category) && isOneOf(fieldTypes, type) && typeof name === 'string') {
      fields.push({ category, type, name, value });
    }
  });
  return fields;
}

function checkValue(value: unknown, type: FieldType, path: string, errors: FieldErrors): void {
  const check = valueChecks[type];
  if (value === undefined || !check.accepts(value)) {
    errors.add(path, 'INVALID_FIELD_VALUE', (n) => `${n(path)} must be ${check.expected} for type ${type}; got ${describeValue(value)}.`);
    return;
  }
  if (jsonDepth(value) > MAX_JSON_DEPTH) {
    errors.add(path, 'INVALID_FIELD_VALUE', (n) => `${n(path)} nests more than ${MAX_JSON_DEPTH} levels deep.`);
    return;
  }
  if (hasNonFiniteNumber(value)) {
    errors.add(path, 'INVALID_FIELD_VALUE', (n) => `${n(path)} holds a number beyond the float range.`);
    return;
  }
  if (hasUnstorableText(value)) {
    errors.add(path, 'INVALID_FIELD_VALUE', (n) => `${n(path)} must not contain U+0000 or unpaired surrogates.`);
    return;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > MAX_VALUE_BYTES) {
    errors.add(path, 'FIELD_VALUE_TOO_LARGE', (n) => `${n(path)} is ${bytes} bytes of JSON; the limit is ${MAX_VALUE_BYTES}.`);
  }
}
