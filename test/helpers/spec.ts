// What SPEC.md states, written down once for the tests that check the code against it. These are
// the contract's own words, not the code's: a test compares the catalog, the OpenAPI document or a
// response with them.

/** SPEC §1: the REST compatibility API lives under this path. */
export const REST_BASE = '/v3/rest';

/** SPEC §5: the HTTP status of each error type. */
export const SPEC_ERROR_STATUSES = {
  authentication_error: 401,
  permission_error: 403,
  validation_error: 400,
  not_found_error: 404,
  conflict_error: 409,
  rate_limit_error: 429,
  server_error: 500,
} as const;

export type SpecErrorType = keyof typeof SPEC_ERROR_STATUSES;

/** SPEC §5: the one code whose status is not its type's (a server_error, yet 503: load shed, retry after Retry-After). */
export const SPEC_CODE_STATUSES: Readonly<Record<string, number>> = { SERVICE_OVERLOADED: 503 };

/** SPEC §5: the HTTP status of an error of `type` and `code`. */
export function specStatusOf(type: SpecErrorType, code: string): number {
  return SPEC_CODE_STATUSES[code] ?? SPEC_ERROR_STATUSES[type];
}

/** SPEC §5: the codes the catalog has at least, by type. */
export const SPEC_ERROR_CODES: Readonly<Record<SpecErrorType, readonly string[]>> = {
  authentication_error: ['API_TOKEN_MISSING', 'API_TOKEN_INVALID', 'API_TOKEN_EXPIRED', 'API_TOKEN_REVOKED', 'WRONG_AUTH_HEADER'],
  permission_error: ['INSUFFICIENT_SCOPE'],
  validation_error: [
    'VALIDATION_FAILED',
    'INVALID_JSON',
    'UNSUPPORTED_MEDIA_TYPE',
    'PAYLOAD_TOO_LARGE',
    'INVALID_FIELD_VALUE',
    'FIELD_VALUE_TOO_LARGE',
    'INVALID_PHONE_NUMBER',
    'INVALID_EMAIL',
    'INVALID_ID',
    'INVALID_CURSOR',
    'INVALID_IDEMPOTENCY_KEY',
    'QUERY_TOO_COMPLEX',
  ],
  not_found_error: ['FEEDBACK_SOURCE_NOT_FOUND', 'PERSON_NOT_FOUND', 'RECORD_NOT_FOUND', 'ROUTE_NOT_FOUND'],
  conflict_error: ['FEEDBACK_SOURCE_NAME_TAKEN', 'FEEDBACK_SOURCE_NOT_EMPTY', 'DUPLICATE_EXTERNAL_ID', 'IDEMPOTENCY_KEY_REUSE', 'IDEMPOTENCY_KEY_MISMATCH', 'IDEMPOTENCY_KEY_IN_PROGRESS'],
  rate_limit_error: ['RATE_LIMITED'],
  server_error: ['INTERNAL_ERROR', 'DATABASE_UNAVAILABLE', 'SERVICE_OVERLOADED'],
};

/** Every code of SPEC §5's list, with its type. */
export const SPEC_CODE_TYPES: readonly (readonly [string, SpecErrorType])[] = Object.entries(SPEC_ERROR_CODES).flatMap(([type, codes]) =>
  codes.map((code) => [code, type as SpecErrorType] as const),
);

/** SPEC §4: a request id the server makes up. */
export const FRESH_REQUEST_ID = /^req_[A-Za-z0-9]{12}$/;

/** SPEC §4: a client's X-Request-Id that is echoed, and so any request id a response may carry. */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** SPEC §6: every REST timestamp is RFC 3339 in UTC. */
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
