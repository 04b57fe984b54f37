import { type ErrorCode, type ErrorType, errorCatalog } from './catalog.ts';

export interface FieldError {
  param: string;
  code: ErrorCode;
  message: string;
}

export interface ApiErrorOptions {
  message?: string;
  param?: string | null;
  suggestion?: string;
}

/**
 * Every expected failure is one of these; its type, default message and suggestion come from the
 * catalog. The subclasses exist so GraphQL unions can name the kinds of failure a mutation has.
 */
export abstract class ApiError extends Error {
  abstract readonly type: ErrorType;
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly suggestion: string;
  readonly retryable: boolean;

  constructor(code: ErrorCode, options: ApiErrorOptions = {}) {
    const entry = errorCatalog[code];
    super(options.message ?? entry.message);
    this.code = code;
    this.param = options.param ?? null;
    this.suggestion = options.suggestion ?? entry.suggestion;
    this.retryable = 'retryable' in entry ? entry.retryable : false;
  }
}

export class AuthenticationError extends ApiError {
  readonly type = 'authentication_error';
}

export class PermissionError extends ApiError {
  readonly type = 'permission_error';
}

export class ValidationError extends ApiError {
  readonly type = 'validation_error';
  readonly errors: FieldError[];

  constructor(code: ErrorCode, options: ApiErrorOptions & { errors?: FieldError[] } = {}) {
    super(code, options);
    this.errors = options.errors ?? (options.param ? [{ param: options.param, code, message: this.message }] : []);
  }

  /** One failing field takes the top-level code and param; several become VALIDATION_FAILED. */
  static fromFieldErrors(errors: FieldError[]): ValidationError {
    const [first] = errors;
    if (errors.length === 1 && first) {
      return new ValidationError(first.code, { message: first.message, param: first.param, errors });
    }
    const params = errors.map((error) => error.param).join(', ');
    return new ValidationError('VALIDATION_FAILED', { message: `${errors.length} fields failed validation: ${params}.`, errors });
  }
}

export class NotFoundError extends ApiError {
  readonly type = 'not_found_error';
}

export class ConflictError extends ApiError {
  readonly type = 'conflict_error';
}

export class RateLimitError extends ApiError {
  readonly type = 'rate_limit_error';
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, options: ApiErrorOptions = {}) {
    super('RATE_LIMITED', options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class ServerError extends ApiError {
  readonly type = 'server_error';
}

/** Collects field failures so a rule can report every one of them, not only the first. */
export class FieldErrors {
  readonly list: FieldError[] = [];

  add(param: string, code: ErrorCode, message: string): void {
    this.list.push({ param, code, message });
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw ValidationError.fromFieldErrors(this.list);
  }
}

const classByType = {
  authentication_error: AuthenticationError,
  permission_error: PermissionError,
  validation_error: ValidationError,
  not_found_error: NotFoundError,
  conflict_error: ConflictError,
  server_error: ServerError,
} as const;

/** Rebuilds an error from its serialised fields (a GraphQL union member), typed by the catalog. */
export function apiErrorFromFields(code: ErrorCode, fields: { message: string; param: string | null; suggestion: string; errors?: FieldError[] }): ApiError {
  const type = errorCatalog[code].type;
  if (type === 'rate_limit_error') return new RateLimitError(0, fields);
  if (type === 'validation_error') return new ValidationError(code, { ...fields, errors: fields.errors ?? [] });
  return new classByType[type](code, fields);
}
