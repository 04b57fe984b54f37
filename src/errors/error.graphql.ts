import { builder } from '../graphql/builder.ts';
import type { Context } from '../graphql/context.ts';
import {
  type ApiError,
  AuthenticationError,
  ConflictError,
  type FieldError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
  ValidationError,
} from './api-error.ts';
import { docUrl, type ErrorType, errorCatalog, errorTypes } from './catalog.ts';

/** What each kind of failure means; the HTTP status comes from the catalog. */
const errorTypeMeanings: Record<ErrorType, string> = {
  authentication_error: 'the API token is missing, unknown, expired or revoked',
  permission_error: 'the API token lacks the scope the field or mutation needs',
  validation_error: 'the input is invalid; errors lists every failing field',
  not_found_error: 'the object does not exist in the organization',
  conflict_error: 'the write clashes with existing data, such as a name or external id already taken',
  rate_limit_error: 'the token sent too many requests; retry after retryAfterSeconds',
  server_error: 'the service failed, or refused the request under load (SERVICE_OVERLOADED, HTTP 503); retry when retryable is true',
};

const ErrorTypeEnum = builder.enumType('ErrorType', {
  description: 'The kind of failure; each maps to one HTTP status in the REST API.',
  values: Object.fromEntries(
    (Object.keys(errorTypes) as ErrorType[]).map((type) => [type, { description: `HTTP ${errorTypes[type]}: ${errorTypeMeanings[type]}.` }]),
  ),
});

const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Stable error codes; each is documented at /docs/errors#CODE.',
  values: Object.fromEntries(Object.entries(errorCatalog).map(([code, entry]) => [code, { description: entry.message }])),
});

/** The error as the caller's API spells the inputs it names (a REST route's batch items in REST's names). */
const spelled = (error: ApiError, ctx: Context): ApiError => (ctx.paramNames ? error.renamed(ctx.paramNames) : error);

export const ErrorInterface = builder.interfaceRef<ApiError>('Error').implement({
  description: 'Fields shared by every error, the same as the REST error envelope.',
  fields: (t) => ({
    type: t.expose('type', { type: ErrorTypeEnum, description: 'The kind of failure, which decides the HTTP status.' }),
    code: t.expose('code', { type: ErrorCodeEnum, description: 'The stable code of this failure; branch on it, not on message.' }),
    message: t.string({ description: 'What went wrong, for people, with the failing value where there is one.', resolve: (error, _args, ctx) => spelled(error, ctx).message }),
    retryable: t.exposeBoolean('retryable', { description: 'True when the same request may succeed if sent again later.' }),
    requestId: t.string({ description: 'The id of the request, also in the X-Request-Id header and the logs.', resolve: (_error, _args, ctx) => ctx.requestId }),
    docUrl: t.string({ description: 'The page documenting this code.', resolve: (error, _args, ctx) => docUrl(ctx.publicUrl, error.code) }),
    param: t.string({
      nullable: true,
      description: 'The path of the failing input, e.g. fields[2].value; null when no single input is at fault.',
      resolve: (error, _args, ctx) => spelled(error, ctx).param,
    }),
    suggestion: t.exposeString('suggestion', { description: 'What to do next to get past this failure.' }),
  }),
});

const FieldErrorRef = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One failing input field; param is its path, e.g. fields[2].value.',
  fields: (t) => ({
    param: t.exposeString('param', { description: 'The path of the failing input, e.g. fields[2].value.' }),
    code: t.expose('code', { type: ErrorCodeEnum, description: 'Why this input failed.' }),
    message: t.exposeString('message', { description: 'What is wrong with this input, with its value.' }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input is invalid; errors lists every failing field at once.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    errors: t.field({
      type: [FieldErrorRef],
      description: 'Every failing input field, each with its path.',
      resolve: (error, _args, ctx) => {
        const shown = spelled(error, ctx);
        return shown instanceof ValidationError ? shown.errors : error.errors;
      },
    }),
  }),
});
builder.objectType(RateLimitError, {
  name: 'RateLimitError',
  description: 'The token sent more requests this minute than its limit allows.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'Seconds to wait before the limit allows another request.' }) }),
});
builder.objectType(AuthenticationError, {
  name: 'AuthenticationError',
  description: 'The API token is missing, unknown, expired or revoked.',
  interfaces: [ErrorInterface],
});
builder.objectType(PermissionError, { name: 'PermissionError', description: 'The API token lacks a scope that this write needs.', interfaces: [ErrorInterface] });
builder.objectType(NotFoundError, { name: 'NotFoundError', description: 'An object the input names does not exist in the organization.', interfaces: [ErrorInterface] });
builder.objectType(ConflictError, { name: 'ConflictError', description: 'The write clashes with data that already exists.', interfaces: [ErrorInterface] });
builder.objectType(ServerError, { name: 'ServerError', description: 'The service failed to complete the request.', interfaces: [ErrorInterface] });
