/** Small checks on plain values shared by the resources' rules. */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** The shape of an RFC 3339 date-time as accepted here: `T` and an offset required, at most 9 fractional digits. */
export const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** `YYYY-MM-DD` naming a day that exists (2025-02-30 does not). */
export function isCalendarDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const daysInMonth = [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return daysInMonth !== undefined && day >= 1 && day <= daysInMonth;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** RFC 3339 `date-time`: a real date and time with a `Z` or `±hh:mm` offset. */
export function isRfc3339DateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (!match?.[1] || !isCalendarDate(match[1])) return false;
  const [hour, minute, second] = [Number(match[2]), Number(match[3]), Number(match[4])];
  // 60 allows a leap second, as RFC 3339 does.
  if (hour > 23 || minute > 59 || second > 60) return false;
  if (match[7] !== undefined && (Number(match[7]) > 23 || Number(match[8]) > 59)) return false;
  return true;
}

const [FIRST_YEAR, LAST_YEAR] = ['0001', '9999'];
const FIRST_INSTANT = new Date(`${FIRST_YEAR}-01-01T00:00:00Z`).getTime();
const LAST_INSTANT = new Date(`${LAST_YEAR}-12-31T23:59:59.999Z`).getTime();
/** The years a stored instant may lie in, as messages state them: `0001–9999`. */
export const STORABLE_YEARS = `${FIRST_YEAR}–${LAST_YEAR}`;

/** Whether an instant lies in years 0001–9999 UTC, the range stored timestamps and RFC 3339 share. */
export function isStorableInstant(date: Date): boolean {
  const time = date.getTime();
  return time >= FIRST_INSTANT && time <= LAST_INSTANT;
}

/**
 * Parses an RFC 3339 date-time into a Date, or null when it is not one or its instant falls outside
 * years 0001–9999 UTC (an offset can push 9999-12-31T23:59:59-23:59 into year 10000).
 */
export function parseDateTime(value: string): Date | null {
  if (!isRfc3339DateTime(value)) return null;
  const date = new Date(value.replace(/:60(\.\d+)?/, ':59$1'));
  return Number.isNaN(date.getTime()) || !isStorableInstant(date) ? null : date;
}

/** PostgreSQL cannot store U+0000 in text or jsonb, and unpaired surrogates are not valid UTF-8. */
export function isWellFormedText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

/** Length in characters (code points), as SPEC and PostgreSQL's varchar count them, not UTF-16 units. */
export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

/**
 * A storable string of 1 to `max` characters; `allowBlank: false` also refuses whitespace only,
 * for names people have to recognise in a list.
 */
export function isText(value: unknown, max: number, options: { allowBlank?: boolean } = {}): value is string {
  if (typeof value !== 'string' || value.length === 0 || !isWellFormedText(value)) return false;
  if (options.allowBlank === false && value.trim().length === 0) return false;
  return value.length <= max || characterCount(value) <= max;
}

/** JSON values may nest this deep; deeper ones are refused before anything recurses into them. */
export const MAX_JSON_DEPTH = 64;

/** How deeply a JSON value nests (a scalar is 0), counted without recursion, giving up past `limit`. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop() as [unknown, number];
    if (typeof item !== 'object' || item === null) continue;
    const inner = depth + 1;
    if (inner > limit) return inner;
    deepest = Math.max(deepest, inner);
    for (const child of Object.values(item)) pending.push([child, inner]);
  }
  return deepest;
}

/** True when a number anywhere in the value is not finite (JSON's 1e400 parses to Infinity, stored as null). */
export function hasNonFiniteNumber(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'number' && !Number.isFinite(item)) return true;
    if (typeof item === 'object' && item !== null) pending.push(...Object.values(item));
  }
  return false;
}

/** True when a string anywhere in the JSON value (keys included) is not storable text. */
export function hasUnstorableText(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string' && !isWellFormedText(item)) return true;
    if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        if (!isWellFormedText(key)) return true;
        pending.push(child);
      }
    }
  }
  return false;
}

/** The failing value as it appears in messages: JSON, shortened so an error never echoes a huge body. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' && !Number.isFinite(value)) return `${value} (a number beyond the float range)`;
  if (jsonDepth(value) > MAX_JSON_DEPTH) return `a value nested more than ${MAX_JSON_DEPTH} levels deep`;
  const text = JSON.stringify(value) ?? String(value);
  if (text.length <= 80) return text;
  // Cut at a code point, so the message never holds half a surrogate pair.
  return `${Array.from(text).slice(0, 77).join('')}...`;
}
