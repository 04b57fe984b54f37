import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { createYoga, isAsyncIterable, type Plugin, processRegularResult } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { MikroORM } from '../database/orm.ts';
import { type ApiError, ValidationError } from '../errors/api-error.ts';
import type { EventBus } from '../events/event-bus.ts';
import { viewerOf } from '../http/auth.ts';
import { errorBody, statusOf, toApiError } from '../http/error-envelope.ts';
import type { Metrics } from '../http/metrics.ts';
import type { TokenCache } from '../organizations/token-cache.ts';
import { useCompiledExecution } from './compiled.ts';
import { type Context, createContext } from './context.ts';
import { queryLimitPlugins } from './limits.ts';
import { schema } from './schema.ts';

const GRAPHIQL_QUERY = `# Paste your API token into x-api-token (Headers tab), then run.
#
# Also on this server: the REST playground at /docs, a Postman collection at
# /v3/rest/postman.json, every error code at /docs/errors, service status at /status.
query Overview {
  viewer { organization { name } scopes }
  feedbackSources(first: 10) {
    edges { node { id name type recordCount } }
  }
}
`;

/** Errors that concern the whole request carry its HTTP status (SPEC §9); field errors leave it at 200. */
function requestLevel(error: ApiError): boolean {
  return ['authentication_error', 'permission_error', 'rate_limit_error', 'server_error'].includes(error.type);
}

/**
 * Whether any top-level field answered. Then the errors are partial (a refused relation, a committed
 * mutation whose payload asked for more than the token may read) and the response is 200, as GraphQL
 * over HTTP says for non-null data; only a request that got nothing takes its errors' status.
 */
function answeredAnyField(data: Record<string, unknown> | null | undefined): boolean {
  return data !== null && data !== undefined && Object.values(data).some((value) => value !== null);
}

/** `withStatus`: whether a request-level error may set the HTTP status (no top-level field answered). */
export function toGraphQLError(error: GraphQLError, ctx: Pick<Context, 'requestId' | 'publicUrl' | 'log'>, withStatus = true): GraphQLError {
  if (!error.originalError || error.originalError instanceof GraphQLError) return error;
  const { error: apiError, unexpected } = toApiError(error.originalError);
  if (unexpected) ctx.log.error({ err: error.originalError, path: error.path }, 'unexpected error in resolver');
  return new GraphQLError(apiError.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: {
      ...errorBody(apiError, ctx.requestId, ctx.publicUrl),
      ...(withStatus && requestLevel(apiError) ? { http: { status: statusOf(apiError) } } : {}),
    },
  });
}

/** The errors of a result with the envelope's fields; `withStatus` as in toGraphQLError. */
function withEnvelopes(result: ExecutionResult, ctx: Context, withStatus: boolean): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map((error) => toGraphQLError(error, ctx, withStatus)) } : result;
}

/**
 * Gives every execution error the REST envelope's fields (unexpected ones are masked and logged),
 * names the operation for the request log, and times it. A subscription refused when it starts
 * takes its error's status; an error in one of its events leaves the stream going.
 */
function useApiErrors(metrics: Metrics): Plugin<Context> {
  return {
    onExecute: ({ args }) => {
      const ctx = args.contextValue as Context;
      const operation = getOperationAST(args.document, args.operationName);
      const name = operation?.name?.value ?? 'anonymous';
      ctx.outcome.operation = name;
      const stopTimer = metrics.graphqlDuration.startTimer({ operation: name, type: operation?.operation ?? 'unknown' });
      return {
        onExecuteDone: ({ result, setResult }) => {
          stopTimer();
          if (isAsyncIterable(result) || !result.errors) return;
          setResult(withEnvelopes(result, ctx, !answeredAnyField(result.data)));
        },
      };
    },
    onSubscribe: ({ args }) => {
      const ctx = args.contextValue as Context;
      ctx.outcome.operation = getOperationAST(args.document, args.operationName)?.name?.value ?? 'anonymous';
      return {
        onSubscribeResult: ({ result, setResult }) => {
          if (!isAsyncIterable(result)) {
            setResult(withEnvelopes(result, ctx, true));
            return;
          }
          return { onNext: ({ result: event, setResult: setEvent }) => setEvent(withEnvelopes(event, ctx, false)) };
        },
      };
    },
  };
}

/**
 * A request for an event stream that failed before any event (no token, a missing scope, an unknown
 * source, an invalid document) is answered like a query that failed: its status and the error
 * envelope as JSON, rather than a stream of one error event.
 */
function useRefusedStreamsAsJson(): Plugin<Context> {
  return {
    onResultProcess: ({ request, result, setResultProcessor }) => {
      if (Array.isArray(result) || isAsyncIterable(result) || !request.headers.get('accept')?.includes('text/event-stream')) return;
      const refused = result.errors?.some((error) => {
        const status = (error.extensions?.http as { status?: number } | undefined)?.status;
        return status !== undefined && status >= 400;
      });
      if (refused) setResultProcessor(processRegularResult, 'application/graphql-response+json');
    },
  };
}

/** An error about the request itself (syntax, unknown field, wrong variable), with the envelope's fields and 400. */
export function requestError(error: GraphQLError, requestId: string, publicUrl: string): GraphQLError {
  const apiError = new ValidationError('INVALID_GRAPHQL_REQUEST', { message: error.message });
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    positions: error.positions,
    source: error.source,
    extensions: { ...errorBody(apiError, requestId, publicUrl), http: { status: 400 } },
  });
}

/**
 * Errors about the request itself (syntax, unknown fields, variables of the wrong type, malformed
 * parameters) come from graphql-js and Yoga without our fields; they get the envelope and 400.
 * Execution errors (they have a path) were handled by useApiErrors.
 */
function useRequestErrorEnvelope(publicUrl: string): Plugin<Context> {
  return {
    onResultProcess: ({ result, setResult, serverContext }) => {
      if (Array.isArray(result) || !('errors' in result) || !result.errors) return;
      const requestId = (serverContext as { req?: { id: string } }).req?.id ?? '';
      const errors = result.errors.map((error) => {
        const extensions = (error as GraphQLError).extensions ?? {};
        const status = (extensions.http as { status?: number } | undefined)?.status;
        if ('type' in extensions || (error as GraphQLError).path || (status !== undefined && status !== 400)) return error;
        return requestError(error as GraphQLError, requestId, publicUrl);
      });
      setResult({ ...result, errors });
    },
  };
}

/**
 * What Yoga is handed with a request: the Fastify request of an HTTP request, or the context a
 * WebSocket subscription was given when its connection was accepted (src/graphql/websocket.ts).
 */
export interface ServerContext {
  req?: FastifyRequest;
  reply?: FastifyReply;
  socketContext?: Context;
}

export interface GraphQLServerDeps {
  orm: MikroORM;
  publicUrl: string;
  allowPrivateWebhookUrls: boolean;
  metrics: Metrics;
  events: EventBus;
  tokens: TokenCache;
}

export function createGraphQLServer({ orm, publicUrl, allowPrivateWebhookUrls, metrics, events, tokens }: GraphQLServerDeps) {
  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    // Our plugin masks instead, so that expected errors keep their codes.
    maskedErrors: false,
    // Browser access is configured with CORS_ORIGINS at the HTTP layer, not opened to every origin.
    cors: false,
    landingPage: false,
    logging: false,
    // GraphiQL's bundle (9 MB of JavaScript) holds about 35 MiB once loaded: it loads on the first
    // page view rather than in every server process at start.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    graphiql: {
      title: 'Feedback gateway',
      defaultQuery: GRAPHIQL_QUERY,
      // Empty, not a placeholder: GraphiQL sends these headers with its introspection query, which needs no token.
      headers: JSON.stringify({ 'x-api-token': '' }, null, 2),
      shouldPersistHeaders: true,
    },
    context: ({ req, socketContext }) => {
      if (socketContext) return socketContext;
      if (!req) throw new Error('A GraphQL request reached Yoga with neither an HTTP request nor a WebSocket context');
      req.graphqlContext = createContext({
        em: req.transaction?.em ?? orm.em,
        operationTransaction: req.transaction?.operationTransaction,
        ahead: req.transaction?.ahead,
        viewer: req.viewer,
        requestId: req.id,
        publicUrl,
        allowPrivateWebhookUrls,
        log: req.log,
        metrics,
        events,
        // Subscriptions over HTTP are server-sent events; each event checks the token again.
        connection: { transport: 'sse', authenticate: () => viewerOf(tokens, req.headers) },
      });
      return req.graphqlContext;
    },
    plugins: [
      // GET requests that a browser would send without a preflight must carry a custom header; the
      // API's own token headers count, so only credential-less simple requests are refused.
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'x-api-token', 'authorization'] }),
      ...queryLimitPlugins(schema, publicUrl),
      useApiErrors(metrics),
      useRequestErrorEnvelope(publicUrl),
      useRefusedStreamsAsJson(),
      useCompiledExecution(),
    ],
  });
}
