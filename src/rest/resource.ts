import type { z } from 'zod';
import type { ErrorCode } from '../errors/catalog.ts';
import type { TadaDocumentNode } from '../graphql/typed-document.ts';
import { grouped } from '../http/limits.ts';
import type { Scope } from '../organizations/scopes.ts';
import type { GraphQLNames, Renames } from './names.ts';
import {
  type ErrorMember,
  type Method,
  NO_BODY,
  operationIdOf,
  type PathVariables,
  type QueryVariables,
  type Responses,
  type RestPath,
  type RestResponse,
  type RestRoute,
  type RouteSpec,
  readRoute,
  type Shape,
  type Success,
  writeRoute,
} from './route.ts';
import type { Variables } from './operation.ts';
import { DeletedSchema, listOf, listQuery } from './schemas.ts';

// The routes of a resource, made by one factory per kind. A factory owns what every route of its kind
// does: method, path, scope, how the request becomes variables, the response's status and shape. A
// resource's REST file gives what differs: its schemas, its operations, its mapping and the error
// codes of each operation; what the OpenAPI document says of each route is prose in its docs file.
//
// Operations take the path and query parameters as variables of their GraphQL names (`person_id` is
// `$personId`, a list's `limit` and `cursor` are `$first` and `$after`) and a body as `$input`; the
// type checker holds each document to that.

/** What the OpenAPI document says of a resource's routes (its `*.rest.json`), each route's by its operationId. */
export interface ResourceDocs {
  tag: string;
  /** What response descriptions call one and several: `source`, `sources`. */
  noun: { one: string; many: string };
  operations: Readonly<Record<string, { summary: string; description: string; response?: string }>>;
}

/** What every route of a resource shares. */
export interface ResourceSpec<PC extends Shape, AC extends Renames, PM extends Shape, AM extends Renames, N, T> {
  /** The scope of its reads (list, get) and of its writes (everything else). */
  scopes: { read: Scope; write: Scope };
  /** The path of the collection (list, create, upsert) and of one member (get, update, delete). */
  paths: [collection: RestPath<PC, AC>, member: RestPath<PM, AM>];
  /** The REST item's schema (its list's is named after it), and how the node its operations select becomes one. */
  item: [schema: z.ZodType<T>, fromNode: (node: N) => T];
  /** The numbers its docs' prose states, by the name the prose writes in braces (`{maxBatch}`): the constants that enforce them. */
  limits?: Readonly<Record<string, number>>;
}

type Errors = readonly ErrorCode[];
type NoQuery = Record<never, z.ZodType>;

/** The part of a connection a list reads; `totalCount` when the list counts itself and was asked to. */
interface Connection<N> {
  edges: { node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount?: number;
}

/** A write's success type selects the written item as `item`. */
type ItemSuccess<N> = Success & { item: N };
/** An upsert's success type also says whether it created the item. */
type UpsertSuccess<N> = ItemSuccess<N> & { created: boolean };
/** A delete's success type names the deleted id. */
type DeleteSuccess = Success & { id: string | number };

/** The route factories of one resource; each takes what its request carries, its operation, and the error codes of that operation. */
export function restResource<PC extends Shape, AC extends Renames, PM extends Shape, AM extends Renames, N, T>(docs: ResourceDocs, resource: ResourceSpec<PC, AC, PM, AM, N, T>) {
  const {
    scopes,
    paths: [collection, member],
    item: [schema, fromNode],
  } = resource;
  const { tag, noun } = docs;
  const listName = `${schema.meta()?.id ?? tag}List`;
  const withLimits = (text: string) =>
    text.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = resource.limits?.[name];
      if (value === undefined) throw new Error(`The ${tag} docs state the limit {${name}}, which the resource does not give.`);
      return grouped(value);
    });
  /** The route's prose, by the name of its operation. */
  const about = (document: TadaDocumentNode<unknown, never>, scope: Scope, errors: Errors = []) => {
    const operationId = operationIdOf(document);
    const text = docs.operations[operationId];
    if (!text) throw new Error(`The ${tag} docs say nothing of the REST operation ${operationId}.`);
    const response = text.response === undefined ? undefined : withLimits(text.response);
    return { summary: withLimits(text.summary), description: withLimits(text.description), tag, scope, errors, response };
  };
  const itemResponse = (description: string) => ({ description, schema });
  /** The factory of a kind of write of one item: its body is the operation's `$input`. */
  const itemWrite =
    <P extends Shape, A extends Renames, S extends Success>(method: Method, path: RestPath<P, A>, respond: (success: S) => RestResponse, responses: (response?: string) => Responses) =>
    <B extends object, R extends Record<string, S | ErrorMember>>(body: z.ZodType<B>, document: TadaDocumentNode<R, PathVariables<P, A> & { input: GraphQLNames<B> }>, errors?: Errors): RestRoute => {
      const text = about(document, scopes.write, errors);
      return writeRoute({ ...text, method, path, query: {}, body, document, variables: ({ params, body }) => ({ ...params, input: body }), respond, responses: responses(text.response) });
    };

  const factories = {
    /**
     * A page of the collection, newest first: `{ data, next_cursor }`; `filters` are the list's own query
     * parameters. A list whose filters take `include_total` answers `total_count` when its operation selected totalCount.
     */
    list<F extends Shape, R extends Record<string, Connection<N> | null>>(
      filters: F,
      document: TadaDocumentNode<R, PathVariables<PC, AC> & QueryVariables<typeof listQuery & F>>,
      errors: Errors = [],
    ): RestRoute {
      return readRoute({
        ...about(document, scopes.read, ['INVALID_CURSOR', ...errors]),
        path: collection,
        query: { ...listQuery, ...filters },
        document,
        variables: ({ params, query }) => ({ ...params, ...query }),
        respond: (connection) => ({
          status: 200,
          body: {
            data: connection.edges.map((edge) => fromNode(edge.node)),
            next_cursor: connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null,
            ...(typeof connection.totalCount === 'number' ? { total_count: connection.totalCount } : {}),
          },
        }),
        responses: { 200: { description: `A page of ${noun.many}.`, schema: listOf(schema, listName, { counted: 'include_total' in filters }) } },
      });
    },

    /** One member: 200 with the item. */
    get<R extends Record<string, N | null>>(document: TadaDocumentNode<R, PathVariables<PM, AM>>, errors?: Errors): RestRoute {
      return readRoute({
        ...about(document, scopes.read, errors),
        path: member,
        query: {},
        document,
        variables: ({ params }) => params,
        respond: (node) => ({ status: 200, body: fromNode(node) }),
        responses: { 200: itemResponse(`The ${noun.one}.`) },
      });
    },

    /** POST to the collection: 201 with the created item (and its Location). */
    create: itemWrite(
      'POST',
      collection,
      (success: ItemSuccess<N>) => ({ status: 201, body: fromNode(success.item) }),
      (response) => ({ 201: itemResponse(response ?? `The created ${noun.one}.`) }),
    ),
    /** PUT to the collection: 201 with the item when it was created, 200 when it was updated. */
    upsert: itemWrite(
      'PUT',
      collection,
      (success: UpsertSuccess<N>) => ({ status: success.created ? 201 : 200, body: fromNode(success.item) }),
      () => ({ 201: itemResponse(`The ${noun.one} was created.`), 200: itemResponse(`The ${noun.one} was updated.`) }),
    ),
    /** PATCH of a member: 200 with the updated item. */
    update: itemWrite('PATCH', member, (success: ItemSuccess<N>) => ({ status: 200, body: fromNode(success.item) }), () => ({ 200: itemResponse(`The updated ${noun.one}.`) })),

    /**
     * A write of its own shape (a batch, an action), POST to `path`: the resource's write scope and the
     * operation's prose, as every route; it answers `status` with `respond`'s body, of `schema`.
     */
    write<P extends Shape, A extends Renames, B extends object, S extends Success, R extends Record<string, S | ErrorMember>, V extends Variables>(
      spec: Pick<RouteSpec<P, NoQuery, B, R, V, A>, 'path' | 'body' | 'document' | 'variables'>,
      [status, schema, respond]: [status: 200 | 201, schema: z.ZodType, respond: (success: S) => unknown],
      errors?: Errors,
    ): RestRoute {
      const { response, ...text } = about(spec.document, scopes.write, errors);
      if (!response) throw new Error(`The ${tag} docs give no response of the REST operation ${operationIdOf(spec.document)}.`);
      return writeRoute<P, NoQuery, B, S, R, V, A>({
        ...text,
        ...spec,
        method: 'POST',
        query: {},
        respond: (success) => ({ status, body: respond(success) }),
        responses: { [status]: { description: response, schema } },
      });
    },

    /** DELETE of a member: 200 with `{ id, deleted: true }`; `query` holds its options. */
    delete<Q extends Shape, R extends Record<string, DeleteSuccess | ErrorMember>>(query: Q, document: TadaDocumentNode<R, PathVariables<PM, AM> & QueryVariables<Q>>, errors?: Errors): RestRoute {
      return writeRoute({
        ...about(document, scopes.write, errors),
        method: 'DELETE',
        path: member,
        query,
        body: NO_BODY,
        document,
        variables: ({ params, query }) => ({ ...params, ...query }),
        respond: (success: DeleteSuccess) => ({ status: 200, body: { id: Number(success.id), deleted: true } }),
        responses: { 200: { description: `The ${noun.one} is deleted.`, schema: DeletedSchema } },
      });
    },
  };

  return {
    /** The resource's routes; each documented operation must have one. */
    routes(build: (resource: typeof factories) => RestRoute[]): RestRoute[] {
      const routes = build(factories);
      const stale = Object.keys(docs.operations).filter((operationId) => !routes.some((route) => route.operationId === operationId));
      if (stale.length > 0) throw new Error(`The ${tag} docs describe operations no route runs: ${stale.join(', ')}.`);
      return routes;
    },
  };
}
