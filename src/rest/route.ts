import type { DocumentNode } from 'graphql';
import type { z } from 'zod';
import type { ErrorCode } from '../errors/catalog.ts';
import type { Scope } from '../organizations/scopes.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Shape = Record<string, z.ZodType>;

export interface RouteInput<P extends Shape, Q extends Shape, B extends z.ZodType> {
  params: z.output<z.ZodObject<P>>;
  query: z.output<z.ZodObject<Q>>;
  body: z.output<B>;
}

/**
 * One REST endpoint: the GraphQL operation it runs, how the URL and body become its variables,
 * and how its result becomes the response. The OpenAPI document is generated from these too.
 */
export interface RestRoute<P extends Shape = Shape, Q extends Shape = Shape, B extends z.ZodType = z.ZodType, D = Record<string, unknown>> {
  method: Method;
  /** OpenAPI form, below /v3/rest: `/feedback-sources/{id}/records`. */
  path: string;
  operationId: string;
  summary: string;
  /** What the operation does, for the OpenAPI document: a sentence or two beyond the summary. */
  description: string;
  tag: string;
  /**
   * The scope a token needs for this endpoint, declared once here: the OpenAPI security requirements
   * are read from it. The GraphQL resolvers the operation runs enforce it.
   */
  scope: Scope;
  params?: P;
  query?: Q;
  body?: B;
  document: DocumentNode;
  variables(input: RouteInput<P, Q, B>): Record<string, unknown>;
  /** GraphQL argument names that are path parameters here, for error params (`sourceId` → `id`). */
  paramNames?: Readonly<Record<string, string>>;
  /** The success response; `data` is the operation's result, shaped by its selection. */
  respond(data: D): { status: number; body: unknown };
  responses: Partial<Record<200 | 201, { description: string; schema: z.ZodType }>>;
  /**
   * The error codes of this endpoint's own operation, besides those every route (or every write, or
   * every route with path parameters) can answer, which the OpenAPI document adds.
   */
  errors: readonly ErrorCode[];
}

export function defineRoute<P extends Shape, Q extends Shape, B extends z.ZodType, D>(route: RestRoute<P, Q, B, D>): RestRoute {
  return route as unknown as RestRoute;
}
