import { type DocumentNode, getOperationAST, type OperationDefinitionNode, print } from 'graphql';
import { z } from 'zod';
import { ApiError } from '../errors/api-error.ts';
import type { ErrorCode } from '../errors/catalog.ts';
import type { Context } from '../graphql/context.ts';
import type { TadaDocumentNode } from '../graphql/typed-document.ts';
import { toApiError } from '../http/error-envelope.ts';
import type { Scope } from '../organizations/scopes.ts';
import { type GraphQLNames, PAGE_NAMES, type Renames, restNamer, toGraphQLNames } from './names.ts';
import { prepareOperation, type Variables } from './operation.ts';
import { parseRequestPart } from './validation.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Shape = Record<string, z.ZodType>;
type Parsed<S extends Shape> = z.output<z.ZodObject<S, z.core.$strict>>;

/** A route whose path parameters keep their names as GraphQL arguments. */
export type NoRenames = Record<never, string>;

/** A path below /v3/rest in OpenAPI form (`/feedback-sources/{id}/records`) with a schema for each of its parameters. */
export interface RestPath<P extends Shape, A extends Renames> {
  readonly template: string;
  readonly params: P;
  /** Parameters that its operations take as arguments of other names: `{ id: 'sourceId' }`; error params are named back. */
  readonly arguments: A | undefined;
}

export function restPath<P extends Shape, const A extends Renames = NoRenames>(template: string, params: P, pathArguments?: A): RestPath<P, A> {
  const named = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
  if (named.join() !== Object.keys(params).sort().join()) throw new Error(`The REST path ${template} does not have a schema for exactly its parameters.`);
  return { template, params, arguments: pathArguments };
}

/** The body of a route that reads none: whatever a client sends (a DELETE may send JSON) is ignored. */
export const NO_BODY = z.unknown().transform(() => ({}));
export type NoBody = z.output<typeof NO_BODY>;
const readsBody = (schema: z.ZodType) => schema !== NO_BODY;

/** Path parameters in GraphQL's names: as the path renames them, else camelCase. */
export type PathVariables<P extends Shape, A extends Renames> = GraphQLNames<Parsed<P>, A>;
/** Query parameters in GraphQL's names: a page's `limit` and `cursor` are `first` and `after`, the others camelCase. */
export type QueryVariables<Q extends Shape> = GraphQLNames<Parsed<Q>, typeof PAGE_NAMES>;

/** A checked request in GraphQL's names. */
export interface RouteInput<P extends Shape, A extends Renames, Q extends Shape, B extends object> {
  params: PathVariables<P, A>;
  query: QueryVariables<Q>;
  body: GraphQLNames<B>;
}

export interface RestResponse {
  status: 200 | 201;
  body: unknown;
}

export type Responses = Partial<Record<200 | 201, { description: string; schema: z.ZodType }>>;

/** What the OpenAPI document says of a route besides its schemas. */
export interface RouteDoc {
  summary: string;
  /** What the operation does: a sentence or two beyond the summary. */
  description: string;
  tag: string;
  /**
   * The scope a token needs for this endpoint, declared once here: the OpenAPI security requirements
   * and the scope tests read it. The GraphQL resolvers the operation runs enforce it.
   */
  scope: Scope;
  /**
   * The error codes of this endpoint's own operation, besides those every route (or every write, or
   * every route with path parameters) can answer, which the OpenAPI document adds.
   */
  errors: readonly ErrorCode[];
}

/** The request as the framework hands it over, unchecked. */
export interface RequestParts {
  params: unknown;
  query: unknown;
  body: unknown;
}

/** A request whose parts passed their schemas: the path parameters it named, and its operation, ready to run. */
export interface CheckedRequest {
  params: Readonly<Record<string, unknown>>;
  /** The operation it runs, with its variables: for what is done before its transaction opens. */
  operation: OperationDefinitionNode | null;
  variables: Variables;
  /** Runs the operation; a failure is thrown as the ApiError it is, in REST's names. */
  run(context: Context): Promise<RestResponse>;
}

/**
 * One REST endpoint as the server mounts it and the OpenAPI document describes it. What is typed in
 * its declaration (variables, result) stays inside `check`.
 */
export interface RestRoute extends RouteDoc {
  /** The name of the route's GraphQL operation. */
  operationId: string;
  method: Method;
  /** OpenAPI form, below /v3/rest: `/feedback-sources/{id}/records`. */
  path: string;
  params?: Shape;
  query?: Shape;
  body?: z.ZodType;
  responses: Responses;
  /** Checks the request's path, query and body (throwing every failing field at once). */
  check(parts: RequestParts): CheckedRequest;
}

/**
 * A route's declaration: how its checked request becomes the variables of its GraphQL operation and how
 * the operation's data becomes the response. Both are typed from the document, so they are checked
 * against the schema.
 */
export interface RouteSpec<P extends Shape, Q extends Shape, B extends object, R, V extends Variables, A extends Renames> extends RouteDoc {
  method: Method;
  path: RestPath<P, A>;
  query: Q;
  /** NO_BODY when the route reads none. */
  body: z.ZodType<B>;
  /** A named operation: its name is the route's operationId. */
  document: TadaDocumentNode<R, V>;
  variables(input: RouteInput<P, A, Q, B>): V;
  respond(data: R): RestResponse;
  responses: Responses;
}

/** A route's operationId is the name of its GraphQL operation, so both APIs call it the same. */
export function operationIdOf(document: DocumentNode): string {
  const name = getOperationAST(document)?.name?.value;
  if (!name) throw new Error(`A REST route's operation has no name to serve as its operationId: ${print(document)}`);
  return name;
}

const isEmpty = (shape: Shape) => Object.keys(shape).length === 0;

export function defineRoute<P extends Shape, Q extends Shape, B extends object, R, V extends Variables, const A extends Renames = NoRenames>(spec: RouteSpec<P, Q, B, R, V, A>): RestRoute {
  const operationId = operationIdOf(spec.document);
  const run = prepareOperation(spec.document);
  const definition = getOperationAST(spec.document) ?? null;
  const params = z.strictObject(spec.path.params);
  const query = z.strictObject(spec.query);
  const restNames = restNamer({ ...PAGE_NAMES, ...spec.path.arguments });
  const { summary, description, tag, scope, errors, method, responses } = spec;
  return {
    operationId,
    summary,
    description,
    tag,
    scope,
    errors,
    method,
    responses,
    path: spec.path.template,
    ...(isEmpty(spec.path.params) ? {} : { params: spec.path.params }),
    ...(isEmpty(spec.query) ? {} : { query: spec.query }),
    ...(readsBody(spec.body) ? { body: spec.body } : {}),
    check(parts) {
      const checked = { params: parseRequestPart(params, parts.params, 'path'), query: parseRequestPart(query, parts.query, 'query'), body: parseRequestPart(spec.body, parts.body, 'body') };
      const variables = spec.variables({
        params: toGraphQLNames(checked.params, spec.path.arguments),
        query: toGraphQLNames(checked.query, PAGE_NAMES),
        body: toGraphQLNames(checked.body),
      });
      return {
        params: checked.params,
        operation: definition,
        variables,
        run: async (context) => {
          const result = await run(variables, { ...context, paramNames: restNames });
          // A mutation that failed answered with an error type of its union; REST answers with the error it threw.
          const failed = context.outcome.error;
          if (failed instanceof ApiError) throw failed.renamed(restNames);
          const [first] = result.errors ?? [];
          if (first) {
            const { error, unexpected } = toApiError(first.originalError ?? first);
            if (unexpected) context.log.error({ err: first.originalError ?? first }, 'unexpected error in REST operation');
            throw error.renamed(restNames);
          }
          if (!result.data) throw new Error(`The REST operation ${operationId} answered neither data nor an error`);
          return spec.respond(result.data);
        },
      };
    },
  };
}

/** A mutation's success type, e.g. `CreateFeedbackSourceSuccess`. */
export interface Success {
  readonly __typename: `${string}Success`;
}

/** One of the error types of a mutation's payload union, e.g. `NotFoundError`. */
export interface ErrorMember {
  readonly __typename: `${string}Error`;
}

/** The value of a result's one root field. */
export type FieldOf<R> = NonNullable<R[Extract<keyof R, string>]>;

/** The value of an operation's one root field; null only beside an error, which was thrown before. */
function onlyField<R extends object>(data: R): FieldOf<R> {
  for (const field in data) {
    const value = data[field];
    if (value === null || value === undefined) throw new Error(`The operation's ${field} answered null without an error`);
    return value;
  }
  throw new Error('The operation selected no field');
}

function isSuccess<S extends Success>(payload: S | ErrorMember): payload is S {
  return payload.__typename.endsWith('Success');
}

/**
 * A mutation that failed never reaches here: its error was thrown on the context. What is left of its
 * payload union is the success type.
 */
function successOf<S extends Success>(payload: S | ErrorMember): S {
  if (isSuccess(payload)) return payload;
  throw new Error(`The mutation answered ${payload.__typename} without throwing it`);
}

/** A route reading one root field of its query: the item of a get, the connection of a list. */
export function readRoute<P extends Shape, Q extends Shape, R extends object, V extends Variables, const A extends Renames = NoRenames>(
  spec: Omit<RouteSpec<P, Q, NoBody, R, V, A>, 'respond' | 'method' | 'body'> & { respond(field: FieldOf<R>): RestResponse },
): RestRoute {
  return defineRoute<P, Q, NoBody, R, V, A>({ ...spec, method: 'GET', body: NO_BODY, respond: (data) => spec.respond(onlyField(data)) });
}

/** A route running a mutation: it responds with the success member of the mutation's payload. */
export function writeRoute<P extends Shape, Q extends Shape, B extends object, S extends Success, R extends Record<string, S | ErrorMember>, V extends Variables, const A extends Renames = NoRenames>(
  spec: Omit<RouteSpec<P, Q, B, R, V, A>, 'respond'> & { respond(success: S): RestResponse },
): RestRoute {
  return defineRoute<P, Q, B, R, V, A>({ ...spec, respond: (data) => spec.respond(successOf<S>(onlyField(data))) });
}
