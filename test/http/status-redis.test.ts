import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../../src/http/status-page.ts';
import { send } from '../helpers/http.ts';
import { runRedisSuites, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitUntil } from '../helpers/wait.ts';

// Issue #14: GET /status shows the Redis the rate limits are counted in (REDIS_URL), when it is used.

const statusOf = async (server: TestServer) => {
  const started = performance.now();
  const reply = await send<Status>(server.url, { path: '/status', headers: { accept: 'application/json' } });
  return { reply, elapsedMs: performance.now() - started };
};

/** A loopback port nothing listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

describe.runIf(runRedisSuites())('GET /status with REDIS_URL', () => {
  let redis: TestRedis;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    for (const server of servers) await server.close();
    await redis?.stop();
  });

  it('shows Redis up, with its latency, when the rate limits are counted in it', async () => {
    const server = await startTestServer({ REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '1000' });
    servers.push(server);
    // The client connects on its own after start; the page reports what it finds when asked.
    await waitUntil(async () => (await statusOf(server)).reply.body.redis?.status === 'up', 'the status page reports Redis up');
    const answer = await statusOf(server);
    expect(answer.reply.status).toBe(200);
    expect(answer.reply.body).toMatchObject({ status: 'ok', redis: { status: 'up', latency_ms: expect.any(Number) } });
  });

  it('shows Redis down, and the service degraded, within 2 s when nothing answers at REDIS_URL', async () => {
    const server = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, RATE_LIMIT_PER_MINUTE: '1000' });
    servers.push(server);
    const { reply, elapsedMs } = await statusOf(server);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'degraded', redis: { status: 'down', latency_ms: null } });
    expect(elapsedMs).toBeLessThan(2_000);
    const page = await send(server.url, { path: '/status' });
    expect(page.text).toMatch(/<tr id="redis"><th>Redis<\/th><td class="down">down<\/td>/);
  });

  it('shows no Redis when rate limits are off, for then the server uses none', async () => {
    const server = await startTestServer({ REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '0' });
    servers.push(server);
    expect((await statusOf(server)).reply.body).toMatchObject({ status: 'ok', redis: null });
  });
});
