import { binarySize, BODY_LIMIT, DEFAULT_TIMEOUTS, grouped, MAX_IDEMPOTENCY_KEY_LENGTH, seconds } from '../http/limits.ts';
import { MAX_VALUE_BYTES } from '../records/record.limits.ts';

/**
 * The stable catalog of error codes (SPEC §5). Every error the API returns has a code listed here;
 * the REST envelope, the GraphQL error types and the /docs/errors page all read this one table.
 * A limit a message states is read from the constant that enforces it.
 */
export const errorTypes = {
  authentication_error: 401,
  permission_error: 403,
  validation_error: 400,
  not_found_error: 404,
  conflict_error: 409,
  rate_limit_error: 429,
  server_error: 500,
} as const;

export type ErrorType = keyof typeof errorTypes;

export interface CatalogEntry {
  type: ErrorType;
  /** Used when the thrower gives no more specific message. */
  message: string;
  /** What the client can do next. */
  suggestion: string;
  retryable?: boolean;
  /** The HTTP status when it is not the type's (SPEC §5 names one such code: SERVICE_OVERLOADED, 503). */
  status?: number;
}

export const errorCatalog = {
  API_TOKEN_MISSING: {
    type: 'authentication_error',
    message: 'No API token was sent.',
    suggestion: 'Send your token in the x-api-token header (Authorization: Bearer <token> works too). Create one with npm run keys -- create --org <name>.',
  },
  API_TOKEN_INVALID: {
    type: 'authentication_error',
    message: 'The API token is not valid.',
    suggestion: 'Check that the whole token was copied; list your tokens with npm run keys -- list.',
  },
  API_TOKEN_EXPIRED: {
    type: 'authentication_error',
    message: 'The API token has expired.',
    suggestion: 'Create a new token with npm run keys -- create --org <name>.',
  },
  API_TOKEN_REVOKED: {
    type: 'authentication_error',
    message: 'The API token has been revoked.',
    suggestion: 'Create a new token with npm run keys -- create --org <name>.',
  },
  WRONG_AUTH_HEADER: {
    type: 'authentication_error',
    message: 'The token was sent in the x-api-key header, which this API does not read.',
    suggestion: 'Send the token in the x-api-token header instead of x-api-key.',
  },
  INSUFFICIENT_SCOPE: {
    type: 'permission_error',
    message: 'The API token lacks the scope this operation needs.',
    suggestion: 'Create a token with the scope named in the message (npm run keys -- create --scopes ...).',
  },
  VALIDATION_FAILED: {
    type: 'validation_error',
    message: 'Several fields failed validation.',
    suggestion: 'Fix every field listed in errors and send the request again.',
  },
  INVALID_JSON: {
    type: 'validation_error',
    message: 'The request body is not valid JSON.',
    suggestion: 'Send a well-formed JSON document.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    type: 'validation_error',
    message: 'The request body must be JSON.',
    suggestion: 'Send the body with Content-Type: application/json.',
  },
  PAYLOAD_TOO_LARGE: {
    type: 'validation_error',
    message: `The request body is larger than ${binarySize(BODY_LIMIT)}.`,
    suggestion: 'Send a smaller body; split large batches into several requests.',
  },
  MALFORMED_REQUEST: {
    type: 'validation_error',
    message: 'The request is not valid HTTP.',
    suggestion: 'Check the request line and headers: header values may not contain control characters.',
  },
  REQUEST_TIMEOUT: {
    type: 'validation_error',
    message: 'The request did not arrive in time.',
    suggestion: `Send the headers within ${seconds(DEFAULT_TIMEOUTS.headersMs)} and the whole request within ${seconds(DEFAULT_TIMEOUTS.requestMs)}.`,
  },
  INVALID_FIELD_VALUE: {
    type: 'validation_error',
    message: 'A field has an invalid value.',
    suggestion: 'Correct the field named in param and send the request again.',
  },
  FIELD_VALUE_TOO_LARGE: {
    type: 'validation_error',
    message: `A field value is larger than ${MAX_VALUE_BYTES / 1024} KB (${grouped(MAX_VALUE_BYTES)} bytes of JSON text).`,
    suggestion: 'Shorten the value or split it into several fields.',
  },
  INVALID_PHONE_NUMBER: {
    type: 'validation_error',
    message: 'The phone number is not in E.164 format.',
    suggestion: 'Send the number as + followed by country code and number, without spaces or dashes, e.g. +14155550123.',
  },
  INVALID_EMAIL: {
    type: 'validation_error',
    message: 'The email address is not valid.',
    suggestion: 'Send an address of the form name@example.com.',
  },
  INVALID_ID: {
    type: 'validation_error',
    message: 'An id must be a positive integer.',
    suggestion: 'Use the integer id returned when the resource was created.',
  },
  INVALID_CURSOR: {
    type: 'validation_error',
    message: 'The cursor is not one this API returned.',
    suggestion: 'Pass the cursor from the previous page unchanged, or omit it to start from the first page.',
  },
  INVALID_IDEMPOTENCY_KEY: {
    type: 'validation_error',
    message: `The Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters.`,
    suggestion: 'Use a UUID or another unique string of printable ASCII characters.',
  },
  INVALID_GRAPHQL_REQUEST: {
    type: 'validation_error',
    message: 'The GraphQL request is not valid.',
    suggestion: 'Check the query against the schema (GraphiQL at /graphql helps) and that variables match their declared types.',
  },
  QUERY_TOO_COMPLEX: {
    type: 'validation_error',
    message: 'The GraphQL query is too large or too deeply nested.',
    suggestion: 'Request fewer fields, aliases or levels of nesting, and page through lists.',
  },
  FEEDBACK_SOURCE_NOT_FOUND: {
    type: 'not_found_error',
    message: 'The feedback source does not exist.',
    suggestion: 'List your sources with GET /v3/rest/feedback-sources.',
  },
  PERSON_NOT_FOUND: {
    type: 'not_found_error',
    message: 'The person does not exist.',
    suggestion: 'List people with GET /v3/rest/people, or create one with PUT /v3/rest/people.',
  },
  RECORD_NOT_FOUND: {
    type: 'not_found_error',
    message: 'The feedback record does not exist.',
    suggestion: 'List the records of the source with GET /v3/rest/feedback-sources/{id}/records.',
  },
  WEBHOOK_ENDPOINT_NOT_FOUND: {
    type: 'not_found_error',
    message: 'The webhook endpoint does not exist.',
    suggestion: 'List your webhook endpoints with GET /v3/rest/webhooks.',
  },
  WEBHOOK_EVENT_NOT_FOUND: {
    type: 'not_found_error',
    message: 'The webhook event does not exist.',
    suggestion: 'List the events of an endpoint with GET /v3/rest/webhooks/{id}/events.',
  },
  NODE_NOT_FOUND: {
    type: 'not_found_error',
    message: 'No object has this nodeId.',
    suggestion: 'Use a nodeId as the API answered it in the nodeId field of the object, with a token of the same organization.',
  },
  ROUTE_NOT_FOUND: {
    type: 'not_found_error',
    message: 'No route matches this method and path.',
    suggestion: 'See the routes in GET /v3/rest/openapi.json.',
  },
  FEEDBACK_SOURCE_NAME_TAKEN: {
    type: 'conflict_error',
    message: 'A feedback source with this name already exists.',
    suggestion: 'Choose another name, or find the existing source with GET /v3/rest/feedback-sources?name=<name>.',
  },
  FEEDBACK_SOURCE_NOT_EMPTY: {
    type: 'conflict_error',
    message: 'The feedback source still has records.',
    suggestion: 'Delete its records first, or delete with ?cascade=true to delete them together.',
  },
  DUPLICATE_EXTERNAL_ID: {
    type: 'conflict_error',
    message: 'A record with this external_id was already ingested into this source.',
    suggestion: 'Fetch the existing record by the id in the message instead of ingesting it again.',
  },
  PERSON_EMAIL_TAKEN: {
    type: 'conflict_error',
    message: 'Another person already has this email address.',
    suggestion: 'Upsert that person by their external_id, or use another email address.',
  },
  IDEMPOTENCY_KEY_REUSE: {
    type: 'conflict_error',
    message: 'This Idempotency-Key was already used for another method or path.',
    suggestion: 'Use a new Idempotency-Key for each distinct operation.',
  },
  IDEMPOTENCY_KEY_MISMATCH: {
    type: 'conflict_error',
    message: 'This Idempotency-Key was already used with a different request body.',
    suggestion: 'Retry with exactly the same body, or use a new Idempotency-Key.',
  },
  IDEMPOTENCY_KEY_IN_PROGRESS: {
    type: 'conflict_error',
    message: 'A request with this Idempotency-Key is still being processed.',
    suggestion: 'Wait a moment and retry with the same key and body.',
    retryable: true,
  },
  RATE_LIMITED: {
    type: 'rate_limit_error',
    message: 'Too many requests.',
    suggestion: 'Wait retry_after_seconds before sending more requests.',
    retryable: true,
  },
  INTERNAL_ERROR: {
    type: 'server_error',
    message: 'Unexpected error.',
    suggestion: 'Retry later; if it persists, report the request_id.',
  },
  DATABASE_UNAVAILABLE: {
    type: 'server_error',
    message: 'The database is unavailable.',
    suggestion: 'Retry in a few seconds.',
    retryable: true,
  },
  SERVICE_OVERLOADED: {
    type: 'server_error',
    // A server error, yet not a failure: 503 tells clients and proxies that the request was not run
    // and that the same request will be served once load drops.
    status: 503,
    message: 'The server is busy with other requests; this one was not run.',
    suggestion: 'Retry after the number of seconds in the Retry-After header, with the same Idempotency-Key for a write.',
    retryable: true,
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;

export function catalogEntry(code: ErrorCode): CatalogEntry {
  return errorCatalog[code];
}

/** The HTTP status of a catalog entry: its own where it has one, else its type's. */
export function statusOfEntry(entry: CatalogEntry): number {
  return entry.status ?? errorTypes[entry.type];
}

export function statusOfCode(code: ErrorCode): number {
  return statusOfEntry(errorCatalog[code]);
}

export function docUrl(publicUrl: string, code: ErrorCode): string {
  return `${publicUrl}/docs/errors#${code}`;
}
