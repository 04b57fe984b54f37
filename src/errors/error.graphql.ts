import { builder } from '../graphql/builder.ts';
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
import { docUrl, errorCatalog, errorTypes } from './catalog.ts';

const ErrorTypeEnum = builder.enumType('ErrorType', {
  description: 'The kind of failure; each maps to one HTTP status in the REST API.',
  values: Object.keys(errorTypes) as (keyof typeof errorTypes)[],
});

const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Stable error codes; each is documented at /docs/errors#CODE.',
  values: Object.fromEntries(Object.entries(errorCatalog).map(([code, entry]) => [code, { description: entry.message }])),
});

export const ErrorInterface = builder.interfaceRef<ApiError>('Error').implement({
  description: 'Fields shared by every error, the same as the REST error envelope.',
  fields: (t) => ({
    type: t.field({ type: ErrorTypeEnum, resolve: (error) => error.type }),
    code: t.field({ type: ErrorCodeEnum, resolve: (error) => error.code }),
    message: t.exposeString('message'),
    retryable: t.exposeBoolean('retryable'),
    requestId: t.string({ resolve: (_error, _args, ctx) => ctx.requestId }),
    docUrl: t.string({ resolve: (error, _args, ctx) => docUrl(ctx.publicUrl, error.code) }),
    param: t.exposeString('param', { nullable: true }),
    suggestion: t.exposeString('suggestion'),
  }),
});

const FieldErrorRef = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One failing input field; param is its path, e.g. fields[2].value.',
  fields: (t) => ({
    param: t.exposeString('param'),
    code: t.field({ type: ErrorCodeEnum, resolve: (error) => error.code }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ errors: t.field({ type: [FieldErrorRef], resolve: (error) => error.errors }) }),
});
builder.objectType(RateLimitError, {
  name: 'RateLimitError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ retryAfterSeconds: t.exposeInt('retryAfterSeconds') }),
});
builder.objectType(AuthenticationError, { name: 'AuthenticationError', interfaces: [ErrorInterface] });
builder.objectType(PermissionError, { name: 'PermissionError', interfaces: [ErrorInterface] });
builder.objectType(NotFoundError, { name: 'NotFoundError', interfaces: [ErrorInterface] });
builder.objectType(ConflictError, { name: 'ConflictError', interfaces: [ErrorInterface] });
builder.objectType(ServerError, { name: 'ServerError', interfaces: [ErrorInterface] });
