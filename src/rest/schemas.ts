import { z } from 'zod';
import 'zod-openapi';
import { errorCatalog, errorTypes } from '../errors/catalog.ts';
import { parseDateTime } from '../validation/values.ts';

/** Path ids: positive integers that fit the database, as text in the URL. */
export const idParam = (description: string) =>
  z
    .string()
    .refine((value) => /^[1-9]\d{0,15}$/.test(value) && Number.isSafeInteger(Number(value)), 'a positive integer id')
    .meta({ description, override: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } });

export const dateTimeQuery = (description: string) =>
  z
    .string()
    .refine((value) => parseDateTime(value) !== null, 'an RFC 3339 date-time with an offset in years 0001–9999, e.g. 2025-03-14T09:26:53Z')
    .meta({ description, format: 'date-time' });

export const listQuery = {
  limit: z
    .string()
    .refine((value) => /^\d{1,3}$/.test(value) && Number(value) >= 1 && Number(value) <= 100, 'an integer from 1 to 100')
    .optional()
    .meta({ description: 'Page size, 1 to 100 (default 25).', override: { type: 'integer', minimum: 1, maximum: 100, default: 25 } }),
  cursor: z.string().min(1).optional().meta({ description: 'The next_cursor of the previous page.' }),
};

/** Query-string booleans are spelled true or false. */
export const booleanQuery = (description: string) =>
  z.enum(['true', 'false']).optional().meta({ description, override: { type: 'boolean', default: false } });

export const timestamp = z.iso.datetime({ offset: false }).meta({ description: 'RFC 3339, UTC.' });
export const id = z.int().min(1).meta({ description: 'Integer id.' });

export const ErrorSchema = z
  .object({
    error: z.object({
      type: z.enum(Object.keys(errorTypes) as [keyof typeof errorTypes]),
      code: z.enum(Object.keys(errorCatalog) as [keyof typeof errorCatalog]),
      message: z.string(),
      retryable: z.boolean(),
      request_id: z.string(),
      doc_url: z.url(),
      param: z.string().nullable(),
      suggestion: z.string(),
      errors: z.array(z.object({ param: z.string(), code: z.string(), message: z.string() })).optional().meta({ description: 'Every failing field of a validation error.' }),
      retry_after_seconds: z.int().optional(),
    }),
  })
  .meta({ id: 'Error', description: 'The error envelope of every non-2xx response; see /docs/errors.' });

export const DeletedSchema = z.object({ id, deleted: z.literal(true) }).meta({ id: 'Deleted' });

export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page.' }) }).meta({ id: name });
}
