import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../helpers/http.ts';
import { type ChildExit, type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { createDatabaseWithToken } from '../helpers/server.ts';
import { type Closed, type EventStream, metricValue, openSse, subscribeOverWebSocket, type WebSocketSubscription, webSocketClient } from '../helpers/subscriptions.ts';
import { waitUntil } from '../helpers/wait.ts';

// Graceful shutdown with subscriptions open: they would hold the stop for its whole grace period
// (10 s) were they left open. SIGTERM completes every SSE stream and closes every WebSocket with
// 1001 (graphql-ws clients then connect again, to another instance), and the process exits 0.

/** The stop waits up to 10 s for requests in flight; with subscriptions ended it needs far less. */
const EXIT_WITHIN_MS = 5_000;

const closers: (() => Promise<unknown> | unknown)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

function exitWithin(service: ChildService, ms: number): Promise<ChildExit | null> {
  return Promise.race([service.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref())]);
}

describe('SIGTERM with an SSE subscription and a WebSocket subscription open', () => {
  let server: ChildService;
  let stream: EventStream;
  let socket: WebSocketSubscription;
  let socketClosed: Promise<Closed>;
  let exit: ChildExit | null;
  let events: (string | null)[];

  beforeAll(async () => {
    const { databaseUrl, token } = await createDatabaseWithToken('Shutdown Corp');
    server = await startServerProcess({ DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0' });
    closers.push(() => server.stop());
    const sourceId = (await new RestClient(server.url, token).createSource({ name: 'Live' })).id;
    const query = 'subscription ($sourceId: ID) { recordIngested(sourceId: $sourceId) { id } }';

    stream = await openSse(server.url, { query, variables: { sourceId }, token });
    closers.push(() => stream.close());
    const connection = webSocketClient(server.url, { 'x-api-token': token });
    closers.push(() => connection.client.dispose());
    socketClosed = connection.closed;
    socket = subscribeOverWebSocket(connection.client, query, { sourceId });
    await waitUntil(async () => (await metricValue(server.url, 'graphql_subscriptions_open{transport="websocket"}')) === 1, 'the WebSocket subscription is open');

    server.child.kill('SIGTERM');
    exit = await exitWithin(server, EXIT_WITHIN_MS);
    events = [];
    for (let event = await stream.nextEvent(); event !== null; event = await stream.nextEvent()) events.push(event.event);
  }, 60_000);

  it('exits with code 0 within 5 s of the signal', () => {
    expect(exit, server.output().split('\n').slice(-5).join('\n')).toEqual({ code: 0, signal: null });
  });

  it('completes the SSE stream: a complete event, then the end of the response', async () => {
    expect(events).toEqual(['complete']);
    await stream.ended;
  });

  it('closes the WebSocket with 1001 Going Away', async () => {
    expect(await socketClosed).toEqual({ code: 1001, reason: expect.stringContaining('shutting down') });
    await expect(socket.completed).rejects.toMatchObject({ code: 1001 });
  });
});
