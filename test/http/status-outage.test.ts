import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Status } from '../../src/http/status-page.ts';
import { type HttpReply, RestClient, send } from '../helpers/http.ts';
import { type OutageServer, type StoppableDatabase, startOutageServer } from '../helpers/outage-database.ts';
import { waitUntil } from '../helpers/wait.ts';

// Issue #14: GET /status answers 200 within 2 s whatever the database does, and reports it down.

/** The bound issue #14 sets for the status page. */
const ANSWER_WITHIN_MS = 2_000;

let database: StoppableDatabase | undefined;
let server: OutageServer | undefined;
let base: string;
let token: string;

/** GET /status as JSON (or HTML), timed; a request that hangs is cut after three times the bound. */
async function status(accept = 'application/json'): Promise<{ reply: HttpReply<Status>; elapsedMs: number }> {
  const started = performance.now();
  const reply = await send<Status>(base, { path: '/status', headers: { accept }, signal: AbortSignal.timeout(3 * ANSWER_WITHIN_MS) });
  return { reply, elapsedMs: performance.now() - started };
}

beforeAll(async () => {
  server = await startOutageServer('Outage Corp');
  ({ database, url: base, token } = server);
});

afterAll(async () => {
  await server?.close();
});

describe('while the database is up', () => {
  it('reports it up, with its latency', async () => {
    const { reply } = await status();
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'ok', database: { status: 'up', latency_ms: expect.any(Number) } });
  });
});

describe('while the database is stopped', () => {
  beforeAll(async () => {
    await database?.stop();
  });

  it(`answers 200 within ${ANSWER_WITHIN_MS / 1000} s, the database down and the service degraded`, async () => {
    const { reply, elapsedMs } = await status();
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'degraded', database: { status: 'down', latency_ms: null } });
    expect(elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('shows the database as down on the page', async () => {
    const { reply, elapsedMs } = await status('text/html');
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/<tr id="database"><th>Database<\/th><td class="down">down<\/td><td>no answer within the time allowed<\/td><\/tr>/);
    expect(reply.text).toContain('<span id="overall" class="degraded">degraded</span>');
    expect(elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('counts the API\'s 500 DATABASE_UNAVAILABLE answers as 5xx', async () => {
    const before = (await status()).reply.body.requests.last_1m.errors_5xx;
    const failed = await new RestClient(base, token).get('/feedback-sources');
    expect(failed.status).toBe(500);
    expect((await status()).reply.body.requests.last_1m.errors_5xx).toBe(before + 1);
  });
});

describe('once the database is back', () => {
  beforeAll(async () => {
    await database?.restart();
  });

  it('reports it up again', async () => {
    await waitUntil(async () => (await status()).reply.body.database.status === 'up', 'the status page reports the database up', 10_000);
    expect((await status()).reply.body).toMatchObject({ status: 'ok', database: { status: 'up' } });
  });
});

describe('while the database accepts connections but answers nothing', () => {
  beforeAll(async () => {
    await database?.freeze();
  });

  afterAll(async () => {
    await database?.thaw();
  });

  it(`answers 200 within ${ANSWER_WITHIN_MS / 1000} s, the database down`, async () => {
    const { reply, elapsedMs } = await status();
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'degraded', database: { status: 'down', latency_ms: null } });
    expect(elapsedMs).toBeLessThan(ANSWER_WITHIN_MS);
  });
});
