import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { type RequestCounts, ratesOver } from '../../src/http/request-rates.ts';
import type { Status } from '../../src/http/status-page.ts';
import { type HttpReply, RestClient, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Issue #14: GET /status, a page for people (JSON with Accept: application/json) showing the
// version, uptime, the database, Redis when used, and the request and error rates of the last
// minutes, from the metrics this process already keeps. Public, like /healthz.

const json = (base: string) => send<Status>(base, { path: '/status', headers: { accept: 'application/json' } });

const anyRates = {
  window_seconds: expect.any(Number),
  requests: expect.any(Number),
  requests_per_second: expect.any(Number),
  errors_4xx: expect.any(Number),
  errors_5xx: expect.any(Number),
  error_rate_4xx: expect.any(Number),
  error_rate_5xx: expect.any(Number),
};

describe('GET /status on a fresh server', () => {
  let server: TestServer;
  let status: HttpReply<Status>;

  beforeAll(async () => {
    server = await startTestServer();
    // Six requests before the first look: two answered 200, three 401 (no token) and one 404.
    for (let i = 0; i < 2; i++) await send(server.url, { path: '/healthz' });
    for (let i = 0; i < 3; i++) await new RestClient(server.url).get('/feedback-sources');
    await send(server.url, { path: '/no-such-page' });
    status = await json(server.url);
  });

  afterAll(() => server.close());

  it('answers 200 JSON to Accept: application/json, not to be cached', () => {
    expect(status.status).toBe(200);
    expect(status.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(status.headers.get('cache-control')).toBe('no-store');
    expect(status.headers.get('vary')).toBe('Accept');
  });

  it('shows the version, the uptime, one process and the database up with its latency; no Redis is used', () => {
    expect(status.body).toEqual({
      status: 'ok',
      version: packageJson.version,
      started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      uptime_seconds: expect.any(Number),
      workers: 1,
      database: { status: 'up', latency_ms: expect.any(Number) },
      redis: null,
      requests: { last_1m: anyRates, last_5m: anyRates },
    });
    expect(Date.parse(status.body.started_at)).toBeLessThanOrEqual(Date.now());
    expect(status.body.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect(status.body.database.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('counts the requests answered so far, and the 4xx and 5xx among them', () => {
    for (const rates of [status.body.requests.last_1m, status.body.requests.last_5m]) {
      expect(rates).toMatchObject({ requests: 6, errors_4xx: 4, errors_5xx: 0, error_rate_4xx: 0.6667, error_rate_5xx: 0 });
      // The server is younger than either window: the figures cover its life so far.
      expect(rates.window_seconds).toBeLessThan(60);
    }
  });

  it('counts its own earlier answers too, but not the one being made', async () => {
    const again = await json(server.url);
    expect(again.body.requests.last_1m).toMatchObject({ requests: 7, errors_4xx: 4 });
  });
});

describe('GET /status as a page', () => {
  let server: TestServer;
  let page: HttpReply;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer();
    token = await server.createToken('Hidden Tenant Corp');
    const rest = new RestClient(server.url, token);
    await rest.createSource({ name: 'Confidential Source' });
    page = await send(server.url, { path: '/status', headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
  });

  afterAll(() => server.close());

  it('answers a browser with an HTML page, without a token', () => {
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toMatch(/^<!doctype html>/);
    expect(page.text).toContain('<title>Status · Feedback gateway</title>');
  });

  it('answers HTML too without an Accept header, and JSON only when JSON is preferred', async () => {
    expect((await send(server.url, { path: '/status' })).headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await send(server.url, { path: '/status', headers: { accept: 'text/html;q=0.5, application/json' } })).headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('shows the version, the database up with its latency, Redis as not used, and the request figures', () => {
    expect(page.text).toContain(`<td colspan="2">${packageJson.version}</td>`);
    expect(page.text).toMatch(/<tr id="database"><th>Database<\/th><td class="up">up<\/td><td>[\d.]+ ms<\/td><\/tr>/);
    expect(page.text).toMatch(/<tr id="redis"><th>Redis<\/th><td class="muted" colspan="2">not used/);
    expect(page.text).toMatch(/<th>Last minute.*<\/th><td>\d+ \([\d.]+\/s\)<\/td><td>\d+ \([\d.]+ %\)<\/td><td>\d+ \([\d.]+ %\)<\/td>/);
    expect(page.text).toContain('Last 5 minutes');
  });

  it('says whose figures these are and how to get them as JSON', () => {
    expect(page.text).toContain('These figures are those of the server process that answered this request.');
    expect(page.text).toContain('<code>Accept: application/json</code>');
  });

  it('loads nothing: no script, stylesheet or image, and names no other host', () => {
    expect(page.text).not.toMatch(/<(script|link|img|iframe)\b/i);
    expect(page.text).not.toMatch(/https?:\/\//);
  });

  it('shows no secret and nothing of any organization', async () => {
    const asJson = (await json(server.url)).text;
    for (const text of [page.text, asJson]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain('Hidden Tenant Corp');
      expect(text).not.toContain('Confidential Source');
      expect(text).not.toContain(String(server.orm.config.get('clientUrl')));
      expect(text).not.toMatch(/postgres(ql)?:\/\//);
    }
  });
});

describe('GET /status with rate limits on', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_MINUTE: '2' });
  });

  afterAll(() => server.close());

  it('is never rate limited, like /healthz', async () => {
    for (let i = 0; i < 4; i++) {
      const reply = await json(server.url);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});

describe('the request rates over a window', () => {
  const at = (seconds: number, requests: number, errors4xx = 0, errors5xx = 0): RequestCounts => ({ at: seconds * 1000, requests, errors4xx, errors5xx });
  // Samples every 5 s over 10 minutes: 2 requests a second, one in ten a 4xx, one in twenty a 5xx.
  const samples = Array.from({ length: 121 }, (_, i) => at(i * 5, i * 10, i, i / 2));
  const now = at(600, 1200, 120, 60);

  it('compares the counters with the newest sample at least the window old', () => {
    expect(ratesOver(samples, now, 60)).toEqual({
      window_seconds: 60,
      requests: 120,
      requests_per_second: 2,
      errors_4xx: 12,
      errors_5xx: 6,
      error_rate_4xx: 0.1,
      error_rate_5xx: 0.05,
    });
    expect(ratesOver(samples, now, 300)).toMatchObject({ window_seconds: 300, requests: 600, requests_per_second: 2, errors_4xx: 60, errors_5xx: 30 });
  });

  it('covers a little more than the window when no sample is exactly that old', () => {
    expect(ratesOver(samples, at(602, 1204, 120, 60), 60)).toMatchObject({ window_seconds: 62, requests: 124, requests_per_second: 2 });
  });

  it('covers the time since the oldest sample while the process is younger than the window', () => {
    expect(ratesOver([at(0, 0), at(5, 10)], at(20, 40, 4), 60)).toEqual({
      window_seconds: 20,
      requests: 40,
      requests_per_second: 2,
      errors_4xx: 4,
      errors_5xx: 0,
      error_rate_4xx: 0.1,
      error_rate_5xx: 0,
    });
  });

  it('reports zero rates, not a division by zero, without requests or time', () => {
    expect(ratesOver([], at(0, 0), 60)).toEqual({ window_seconds: 0, requests: 0, requests_per_second: 0, errors_4xx: 0, errors_5xx: 0, error_rate_4xx: 0, error_rate_5xx: 0 });
  });
});
