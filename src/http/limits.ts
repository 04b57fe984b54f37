/**
 * The limits a request is held to before any route runs. app.ts, the request-id and idempotency
 * checks enforce them; the error catalog, the OpenAPI document and error messages state them from
 * here. This module imports nothing, so the catalog can read it without a cycle.
 */

/** The largest request body read, in bytes. */
export const BODY_LIMIT = 1024 * 1024;

/** Slow or oversized clients are cut off rather than holding a connection (SPEC §5 hostile input). */
export const DEFAULT_TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, maxHeaderBytes: 16 * 1024 };

/** SPEC §7: an Idempotency-Key is 1 to this many printable ASCII characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** A client's X-Request-Id is echoed when it is 1 to this many characters of [A-Za-z0-9._:-]. */
export const MAX_REQUEST_ID_LENGTH = 128;

/**
 * A number with its thousands grouped, as `toLocaleString('en-US')` writes it (`1,048,576`), without
 * that call's cost: formatting by locale loads ICU's number data, about 6 MiB of RSS in each process.
 */
export function grouped(value: number): string {
  const [whole = '', fraction] = String(value).split('.');
  return `${whole.replace(/\B(?=(\d{3})+$)/g, ',')}${fraction === undefined ? '' : `.${fraction}`}`;
}

/** A size as people read it: `1 MiB`, `16 KiB`, else in bytes. */
export function binarySize(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${grouped(bytes)} bytes`;
}

/** A duration in whole seconds as people read it: `10 seconds`. */
export function seconds(ms: number): string {
  const count = ms / 1000;
  return `${grouped(count)} second${count === 1 ? '' : 's'}`;
}
