import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default;

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface MediaTypeObject {
  schema?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown }>;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, MediaTypeObject>;
}

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: unknown;
}

export interface OperationObject {
  operationId?: string;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  [key: string]: unknown;
  openapi: string;
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], OperationObject>>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, Record<string, unknown>> };
  security?: Record<string, string[]>[];
}

/** `GET /v3/rest/people/{id}`: how operations are named in these tests. */
export function operationKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** Every operation of the document, by key. */
export function operationsOf(doc: OpenApiDocument): Map<string, OperationObject> {
  const operations = new Map<string, OperationObject>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) operations.set(operationKey(method, path), operation);
    }
  }
  return operations;
}

/** Whether a concrete path (`/v3/rest/people/7`) is an instance of a template (`/v3/rest/people/{id}`). */
export function matchesTemplate(template: string, path: string): boolean {
  const pattern = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+');
  return new RegExp(`^${pattern}$`).test(path);
}

const pointerPart = (part: string) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'));

/**
 * Validates JSON values against schemas inside the document: the whole document is added to an
 * Ajv 2020 instance (with ajv-formats) under one id, so `#/components/schemas/…` references resolve
 * wherever they appear, and a schema is reached by its JSON pointer in the document.
 */
export class DocumentValidator {
  readonly #ajv = new Ajv2020({ allErrors: true, strict: false });
  readonly #compiled = new Map<string, ValidateFunction>();
  static readonly #ID = 'https://gateway.test/openapi.json';

  constructor(doc: OpenApiDocument) {
    addFormats(this.#ajv);
    this.#ajv.addSchema({ ...doc, $id: DocumentValidator.#ID });
  }

  /** The errors of `value` against the schema at `path` (a list of keys from the document root); null when it conforms. */
  errors(path: readonly string[], value: unknown): ErrorObject[] | null {
    const ref = `${DocumentValidator.#ID}#/${path.map(pointerPart).join('/')}`;
    let validate = this.#compiled.get(ref);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: ref });
      this.#compiled.set(ref, validate);
    }
    return validate(value) ? null : (validate.errors ?? []);
  }
}
