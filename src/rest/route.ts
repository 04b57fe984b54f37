import type { DocumentNode } from 'graphql';
import type { z } from 'zod';
import type { ErrorCode } from '../errors/catalog.ts';

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
  tag: string;
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
  /** The error codes this endpoint documents besides those every endpoint can return. */
  errors: readonly ErrorCode[];
}

export function defineRoute<P extends Shape, Q extends Shape, B extends z.ZodType, D>(route: RestRoute<P, Q, B, D>): RestRoute {
  return route as unknown as RestRoute;
}
