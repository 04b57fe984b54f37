import http from 'node:http';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { type GraphQLBody, type HttpReply, send } from './http.ts';

// Clients of GraphQL subscriptions as integrations run them: server-sent events over plain HTTP
// (read byte by byte, as `curl -N` would) and graphql-ws over a real WebSocket.

/** How long a test waits for an event before it fails; never a bound the contract states. */
const EVENT_WAIT_MS = 10_000;

export interface ServerSentEvent {
  event: string;
  data: string;
}

/** One subscription over server-sent events: the events as they arrive, parsed. */
export interface EventStream {
  status: number;
  headers: Headers;
  /** The next `next` event's GraphQL result; fails on `complete`, the end of the stream, or after a wait. */
  nextResult<T = Record<string, unknown>>(): Promise<GraphQLBody<T>>;
  /** The next event of any kind (`next`, `complete`); null once the stream has ended. */
  nextEvent(): Promise<ServerSentEvent | null>;
  /** Resolves when the server has ended the response. */
  ended: Promise<void>;
  close(): void;
}

export interface SubscribeRequest {
  query: string;
  variables?: Record<string, unknown>;
  token?: string | null;
  headers?: Record<string, string>;
  /** POST (default) sends the operation as JSON; GET in the query string. */
  method?: 'GET' | 'POST';
}

/**
 * Subscribes over SSE with `Accept: text/event-stream`. A refusal (any answer that is not an event
 * stream) resolves as the plain reply, to check its envelope.
 */
export function subscribeOverSse(base: string, request: SubscribeRequest): Promise<{ stream: EventStream } | { refused: HttpReply<GraphQLBody<unknown>> }> {
  const { hostname, port } = new URL(base);
  const headers: Record<string, string> = { accept: 'text/event-stream', ...request.headers };
  if (request.token) headers['x-api-token'] = request.token;
  const method = request.method ?? 'POST';
  let path = '/graphql';
  let body: string | undefined;
  if (method === 'GET') {
    const search = new URLSearchParams({ query: request.query });
    if (request.variables) search.set('variables', JSON.stringify(request.variables));
    path = `/graphql?${search}`;
  } else {
    body = JSON.stringify({ query: request.query, variables: request.variables ?? {} });
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: hostname, port, path, method, headers }, (response) => {
      const replyHeaders = new Headers();
      for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) replyHeaders.append(response.rawHeaders[i] ?? '', response.rawHeaders[i + 1] ?? '');
      if (!(replyHeaders.get('content-type') ?? '').startsWith('text/event-stream')) {
        const parts: Buffer[] = [];
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ refused: { status: response.statusCode ?? 0, headers: replyHeaders, text, body: parsed as GraphQLBody<unknown> } });
        });
        return;
      }
      const events: (ServerSentEvent | null)[] = [];
      const waiting: ((event: ServerSentEvent | null) => void)[] = [];
      const deliver = (event: ServerSentEvent | null) => {
        const waiter = waiting.shift();
        if (waiter) waiter(event);
        else events.push(event);
      };
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: ServerSentEvent = { event: 'message', data: '' };
          let hasField = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [field, ...rest] = line.split(':');
            const value = rest.join(':').replace(/^ /, '');
            if (field === 'event') event.event = value;
            else if (field === 'data') event.data = event.data === '' ? value : `${event.data}\n${value}`;
            else continue;
            hasField = true;
          }
          if (hasField) deliver(event);
        }
      });
      const ended = new Promise<void>((done) => {
        response.on('end', () => done());
        response.on('close', () => done());
      });
      void ended.then(() => deliver(null));
      const nextEvent = () =>
        new Promise<ServerSentEvent | null>((done, fail) => {
          if (events.length > 0) return done(events.shift() ?? null);
          const timer = setTimeout(() => fail(new Error(`no server-sent event within ${EVENT_WAIT_MS} ms`)), EVENT_WAIT_MS);
          waiting.push((event) => {
            clearTimeout(timer);
            done(event);
          });
        });
      resolve({
        stream: {
          status: response.statusCode ?? 0,
          headers: replyHeaders,
          nextEvent,
          async nextResult<T>() {
            const event = await nextEvent();
            if (event?.event !== 'next') throw new Error(`expected a next event, got ${event ? `${event.event}: ${event.data}` : 'the end of the stream'}`);
            return JSON.parse(event.data) as GraphQLBody<T>;
          },
          ended,
          close: () => outgoing.destroy(),
        },
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Subscribes over SSE and fails the test unless the server answered with an event stream. */
export async function openSse(base: string, request: SubscribeRequest): Promise<EventStream> {
  const answer = await subscribeOverSse(base, request);
  if ('refused' in answer) throw new Error(`the subscription was refused: ${answer.refused.status} ${answer.refused.text}`);
  return answer.stream;
}

/** How a WebSocket connection ended: its close code and reason. */
export interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws client on a real WebSocket to `${base}/graphql`, with `connectionParams`, never retrying. */
export function webSocketClient(base: string, connectionParams: Record<string, unknown>): { client: Client; closed: Promise<Closed> } {
  let onClosed: (closed: Closed) => void = () => {};
  const closed = new Promise<Closed>((resolve) => {
    onClosed = resolve;
  });
  const client = createClient({
    url: `${base.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    onNonLazyError: () => {},
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClosed({ code, reason: String(reason) });
      },
    },
  });
  return { client, closed };
}

/** One subscription over graphql-ws: its results as they arrive, and how it ended. */
export interface WebSocketSubscription {
  nextResult<T = Record<string, unknown>>(): Promise<GraphQLBody<T>>;
  /** Resolves on the server's complete, rejects with what the server sent as error (or the close event). */
  completed: Promise<void>;
  unsubscribe(): void;
}

export function subscribeOverWebSocket(client: Client, query: string, variables: Record<string, unknown> = {}): WebSocketSubscription {
  const results: GraphQLBody<unknown>[] = [];
  const waiting: ((result: GraphQLBody<unknown>) => void)[] = [];
  let settle: { resolve(): void; reject(error: unknown): void } = { resolve: () => {}, reject: () => {} };
  const completed = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // A test that never awaits it must not fail on an unhandled rejection.
  completed.catch(() => {});
  const unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (result) => {
        const waiter = waiting.shift();
        if (waiter) waiter(result as GraphQLBody<unknown>);
        else results.push(result as GraphQLBody<unknown>);
      },
      error: (error) => settle.reject(error),
      complete: () => settle.resolve(),
    },
  );
  return {
    nextResult<T>() {
      return new Promise<GraphQLBody<T>>((resolve, reject) => {
        const ready = results.shift();
        if (ready) return resolve(ready as GraphQLBody<T>);
        const timer = setTimeout(() => reject(new Error(`no subscription result within ${EVENT_WAIT_MS} ms`)), EVENT_WAIT_MS);
        completed.then(
          () => reject(new Error('the subscription completed before another result')),
          (error: unknown) => reject(error),
        );
        waiting.push((result) => {
          clearTimeout(timer);
          resolve(result as GraphQLBody<T>);
        });
      });
    },
    completed,
    unsubscribe,
  };
}

/** The value of a gauge or counter sample in /metrics, 0 when absent. */
export async function metricValue(base: string, sample: string): Promise<number> {
  const metrics = await send(base, { path: '/metrics' });
  const line = metrics.text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
