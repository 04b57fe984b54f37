import { z } from 'zod';
import 'zod-openapi';
import { errorCatalog, errorTypes } from '../errors/catalog.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../graphql/pagination.ts';
import { ID_RULE, parseId } from '../validation/ids.ts';
import { DATE_TIME, parseDateTime, STORABLE_YEARS } from '../validation/values.ts';

// Request schemas check only the shape; the resource rules check values, so that one response lists
// every failing field. The value constraints below are documented (in `.meta`) from the constants
// the rules enforce, so a client driven by the document sends only what the rules accept.

/** No U+0000 anywhere (values.ts isWellFormedText): PostgreSQL cannot store it. */
const STORABLE_CHARACTER = '[^\\u0000]';

/**
 * A text of `min` to `max` characters, as the rules' isText counts them (code points, as JSON Schema
 * does), without U+0000; `blank: false` also refuses text of spaces only. Unpaired surrogates are
 * refused too, which no portable pattern can say; descriptions say it.
 */
export function textConstraints(max: number, options: { min?: number; blank?: boolean } = {}) {
  return {
    minLength: options.min ?? 1,
    maxLength: max,
    pattern: options.blank === false ? `^${STORABLE_CHARACTER}*[^\\s\\u0000]${STORABLE_CHARACTER}*$` : `^${STORABLE_CHARACTER}*$`,
  };
}

/** A lower-case pattern the rules test on lower-cased text, as a pattern of the text as sent. */
export function anyCase(pattern: RegExp): string {
  return pattern.source.replaceAll('a-z', 'a-zA-Z');
}

/** Path ids: positive integers that fit the database, as text in the URL. */
export const idParam = (description: string) =>
  z
    .string()
    .refine((value) => parseId(value) !== null, ID_RULE)
    .meta({ description, override: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } });

/** An instant in the query, passed on in UTC as this API writes instants (GraphQL's DateTime takes fewer forms than RFC 3339). */
export const dateTimeQuery = (description: string) =>
  z
    .string()
    .transform((value, context) => {
      const instant = parseDateTime(value);
      if (instant) return instant.toISOString();
      context.issues.push({ code: 'custom', message: `an RFC 3339 date-time with an offset in years ${STORABLE_YEARS}, e.g. 2025-03-14T09:26:53Z`, input: value });
      return z.NEVER;
    })
    .meta({ description: `${description} RFC 3339 with an offset, in years ${STORABLE_YEARS} UTC.`, format: 'date-time', pattern: DATE_TIME.source });

/** An exact-match text filter: any text the database can store. */
export const textFilterQuery = (description: string) =>
  z.string().optional().meta({ description: `${description} No U+0000 or unpaired surrogates.`, pattern: `^${STORABLE_CHARACTER}*$` });

const PAGE_SIZE_DIGITS = new RegExp(`^\\d{1,${String(MAX_PAGE_SIZE).length}}$`);

export const listQuery = {
  limit: z
    .string()
    .refine((value) => PAGE_SIZE_DIGITS.test(value) && Number(value) >= 1 && Number(value) <= MAX_PAGE_SIZE, `an integer from 1 to ${MAX_PAGE_SIZE}`)
    .transform(Number)
    .optional()
    .meta({
      description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).`,
      override: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE },
    }),
  cursor: z
    .string()
    .min(1)
    .optional()
    .meta({
      description: 'The next_cursor of the previous page, unchanged (the `nextPage` link of the list response); any other value is INVALID_CURSOR.',
      pattern: '^[A-Za-z0-9_-]+$',
    }),
};

/** Query-string booleans are the words true or false; absent is false. */
export const booleanQuery = (description: string) => {
  const meta = { description: `${description} The word true or false.` };
  // The document reads the value's schema (with its default) from the words, the parameter's description from the boolean.
  return z
    .enum(['true', 'false'])
    .optional()
    .meta({ ...meta, default: 'false' })
    .transform((value) => value === 'true')
    .meta(meta);
};

export const timestamp = z.iso.datetime({ offset: false }).meta({ description: 'RFC 3339, UTC.' });
export const id = z.int().min(1).meta({ description: 'Integer id.' });

/** The object under `error` in every non-2xx response; each operation's responses narrow its type and code. */
export const ErrorSchema = z
  .object({
    type: z.enum(Object.keys(errorTypes) as [keyof typeof errorTypes]),
    code: z.enum(Object.keys(errorCatalog) as [keyof typeof errorCatalog]),
    message: z.string(),
    retryable: z.boolean(),
    request_id: z.string(),
    doc_url: z.url(),
    param: z.string().nullable(),
    suggestion: z.string(),
    errors: z.array(z.object({ param: z.string(), code: z.string(), message: z.string() })).optional().meta({ description: 'Every failing field of a validation error.' }),
    retry_after_seconds: z.int().min(1).optional().meta({ description: 'How long to wait, on a rate limit.' }),
  })
  .meta({ id: 'Error', description: 'The object under `error` in every non-2xx response (the error envelope); its codes are explained at /docs/errors.' });

export const DeletedSchema = z.object({ id, deleted: z.literal(true) }).meta({ id: 'Deleted' });

const lists = new Map<string, { item: z.ZodType; counted: boolean; schema: z.ZodType }>();

/**
 * A page of a list; a list that can count itself adds `total_count` when asked with include_total=true.
 * Lists of one item share one schema (the document names each schema once).
 */
export function listOf<T extends z.ZodType>(item: T, name: string, options: { counted?: boolean } = {}): z.ZodType {
  const counted = options.counted ?? false;
  const known = lists.get(name);
  if (known && (known.item !== item || known.counted !== counted)) throw new Error(`Two lists named ${name} differ.`);
  if (known) return known.schema;
  const schema = pageOf(item, name, counted);
  lists.set(name, { item, counted, schema });
  return schema;
}

function pageOf(item: z.ZodType, name: string, counted: boolean) {
  const page = { data: z.array(item), next_cursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page.' }) };
  if (!counted) return z.object(page).meta({ id: name });
  const total_count = z.int().min(0).optional().meta({ description: 'How many items the whole list holds, every page together; only with include_total=true.' });
  return z.object({ ...page, total_count }).meta({ id: name });
}
