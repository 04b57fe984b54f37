import { type ErrorCode, type ErrorType, errorCatalog } from './catalog.ts';

/** Spells an input's path the way the caller's API does: GraphQL `displayTs`, REST `display_ts`. */
export type ParamNamer = (param: string) => string;

/**
 * A message that names inputs. Rules write it with the GraphQL schema's names through `name`; the REST
 * API renders the same message with its own names, so no message speaks the other API's words.
 */
export type Message = string | ((name: ParamNamer) => string);

const schemaNames: ParamNamer = (param) => param;

function render(message: Message, name: ParamNamer): string {
  return typeof message === 'string' ? message : message(name);
}

export interface FieldError {
  param: string;
  code: ErrorCode;
  message: string;
}

/**
 * The message of a field error before rendering, so it can be rendered with other names. Kept beside
 * the field error rather than in it: field errors travel as plain data (GraphQL, JSON).
 */
const fieldWordings = new WeakMap<FieldError, Message>();

function fieldError(param: string, code: ErrorCode, wording: Message): FieldError {
  const error = { param, code, message: render(wording, schemaNames) };
  fieldWordings.set(error, wording);
  return error;
}

export interface ApiErrorOptions {
  message?: Message;
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
  readonly wording: Message;

  constructor(code: ErrorCode, options: ApiErrorOptions = {}) {
    const entry = errorCatalog[code];
    const wording = options.message ?? entry.message;
    super(render(wording, schemaNames));
    this.wording = wording;
    this.code = code;
    this.param = options.param ?? null;
    this.suggestion = options.suggestion ?? entry.suggestion;
    this.retryable = 'retryable' in entry ? entry.retryable : false;
  }

  /** The same error with its params and messages spelled by `name`, e.g. in REST's names. */
  renamed(name: ParamNamer): ApiError {
    return apiErrorFromFields(this.code, {
      message: render(this.wording, name),
      param: this.param === null ? null : name(this.param),
      suggestion: this.suggestion,
      ...(this instanceof ValidationError
        ? { errors: this.errors.map((error) => ({ param: name(error.param), code: error.code, message: render(fieldWordings.get(error) ?? error.message, name) })) }
        : {}),
      ...(this instanceof RateLimitError ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
    });
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
    this.errors = options.errors ?? (options.param ? [fieldError(options.param, code, this.wording)] : []);
  }

  /** One failing field takes the top-level code and param; several become VALIDATION_FAILED. */
  static fromFieldErrors(errors: FieldError[]): ValidationError {
    const [first] = errors;
    if (errors.length === 1 && first) {
      return new ValidationError(first.code, { message: fieldWordings.get(first) ?? first.message, param: first.param, errors });
    }
    return new ValidationError('VALIDATION_FAILED', {
      message: (name) => `${errors.length} fields failed validation: ${errors.map((error) => name(error.param)).join(', ')}.`,
      errors,
    });
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

  add(param: string, code: ErrorCode, message: Message): void {
    this.list.push(fieldError(param, code, message));
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

/** Builds an error of the class its code's type names, from its fields. */
function apiErrorFromFields(
  code: ErrorCode,
  fields: { message: string; param: string | null; suggestion: string; errors?: FieldError[]; retryAfterSeconds?: number },
): ApiError {
  const type = errorCatalog[code].type;
  if (type === 'rate_limit_error') return new RateLimitError(fields.retryAfterSeconds ?? 0, fields);
  if (type === 'validation_error') return new ValidationError(code, { ...fields, errors: fields.errors ?? [] });
  return new classByType[type](code, fields);
}
