import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { type ExecutionArgs, GraphQLError, getOperationAST, OperationTypeNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { ApiError, AuthenticationError } from '../errors/api-error.ts';
import { viewerOf } from '../http/auth.ts';
import { requestIdOf } from '../http/request-id.ts';
import type { Viewer } from '../organizations/viewer.ts';
import { createContext } from './context.ts';
import { type createGraphQLServer, type GraphQLServerDeps, requestError } from './yoga.ts';

/** graphql-transport-ws close code for a connection whose credentials were refused, like HTTP's 401. */
const CLOSE_UNAUTHORIZED = 4401;
/** The WebSocket close code of a server going away; graphql-ws clients connect again. */
const CLOSE_GOING_AWAY = 1001;
/** A close frame's reason holds at most 123 bytes. */
const MAX_REASON_BYTES = 123;
/** How long clients get to answer the close frames of a shutdown before their sockets are cut. */
const CLOSE_WITHIN_MS = 1_000;

interface Accepted {
  viewer: Viewer;
  headers: IncomingHttpHeaders;
  requestId: string;
  log: FastifyBaseLogger;
}

type GraphQLServer = ReturnType<typeof createGraphQLServer>;
type Enveloped = ReturnType<GraphQLServer['getEnveloped']>;

/** Carries the envelope's subscribe to graphql-ws's, so the plugins (limits, errors) apply. */
class EnvelopedRoot {
  readonly subscribe: Enveloped['subscribe'];
  constructor(subscribe: Enveloped['subscribe']) {
    this.subscribe = subscribe;
  }
}

function closeReason(error: ApiError): string {
  let reason = `${error.code}: ${error.message}`;
  while (Buffer.byteLength(reason) > MAX_REASON_BYTES) reason = `${reason.slice(0, -2)}…`;
  return reason;
}

/** The token headers a client put in connectionParams (any case), else those of its upgrade request. */
function credentialsOf(params: Readonly<Record<string, unknown>> | undefined, request: IncomingMessage): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    const header = name.toLowerCase();
    if (typeof value !== 'string') continue;
    if (header === 'x-api-token' || header === 'authorization' || header === 'x-api-key') headers[header] = value;
  }
  if (Object.keys(headers).length > 0) return headers;
  return { 'x-api-token': request.headers['x-api-token'], authorization: request.headers.authorization, 'x-api-key': request.headers['x-api-key'] };
}

/**
 * GraphQL subscriptions over WebSocket at /graphql (graphql-transport-ws, as graphql-ws clients
 * speak it), executed through Yoga's envelope so its plugins apply. The token travels in
 * connectionParams (`x-api-token` or `authorization: Bearer …`) and is checked at connection_init:
 * a refused one closes the socket with 4401 and the error's code and message as the reason. Only
 * subscriptions run here; queries and mutations go over HTTP, where rate limits, load shedding and
 * idempotency apply.
 */
export function serveGraphQLOverWebSocket(server: Server, yoga: GraphQLServer, deps: GraphQLServerDeps & { log: FastifyBaseLogger; maxPayload: number }) {
  const { orm, publicUrl, allowPrivateWebhookUrls, metrics, events, tokens, log } = deps;
  const sockets = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayload });
  let closing = false;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== yoga.graphqlEndpoint || closing) {
      socket.end(`HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  useServer<Record<string, unknown>, { accepted: Accepted }>(
    {
      // Never put internal error messages into close reasons.
      isProd: true,
      onConnect: async (ctx) => {
        const requestId = requestIdOf(ctx.extra.request);
        const headers = credentialsOf(ctx.connectionParams, ctx.extra.request);
        try {
          const viewer = await viewerOf(tokens, headers);
          if (!viewer) throw new AuthenticationError('API_TOKEN_MISSING');
          ctx.extra.accepted = { viewer, headers, requestId, log: log.child({ request_id: requestId }) };
          return true;
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, closeReason(error));
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const accepted = ctx.extra.accepted;
        if (!accepted) return [new GraphQLError('The connection was not accepted.')];
        const context = createContext({
          em: orm.em,
          viewer: accepted.viewer,
          requestId: accepted.requestId,
          publicUrl,
          allowPrivateWebhookUrls,
          log: accepted.log,
          metrics,
          events,
          connection: { transport: 'websocket', authenticate: () => viewerOf(tokens, accepted.headers) },
        });
        const enveloped = yoga.getEnveloped({ socketContext: context });
        const refuse = (error: GraphQLError) => [requestError(error, accepted.requestId, publicUrl)];
        let document: ExecutionArgs['document'];
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return refuse(error);
          throw error;
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors.map((error: GraphQLError) => (error.extensions?.type ? error : requestError(error, accepted.requestId, publicUrl)));
        if (getOperationAST(document, payload.operationName)?.operation !== OperationTypeNode.SUBSCRIPTION) {
          return refuse(new GraphQLError('Only subscriptions run over WebSocket; send queries and mutations with POST /graphql.'));
        }
        return {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: new EnvelopedRoot(enveloped.subscribe),
        };
      },
      subscribe: (args) => {
        if (!(args.rootValue instanceof EnvelopedRoot)) throw new Error('A WebSocket subscription was not prepared by onSubscribe');
        return args.rootValue.subscribe(args);
      },
    },
    sockets,
  );

  return {
    /**
     * Stops taking connections and closes the open ones with 1001 (graphql-ws clients then connect
     * again, to another instance); a client that does not answer within a second is cut off.
     */
    async close(): Promise<void> {
      closing = true;
      for (const socket of sockets.clients) socket.close(CLOSE_GOING_AWAY, 'The server is shutting down; connect again.');
      const deadline = Date.now() + CLOSE_WITHIN_MS;
      while (sockets.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const socket of sockets.clients) socket.terminate();
      server.off('upgrade', onUpgrade);
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    },
  };
}
