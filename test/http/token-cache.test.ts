import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '../../src/database/orm.ts';
import { scopes } from '../../src/organizations/scopes.ts';
import { createTokenCache, REVOCATION_LISTENER_NAME, type TokenCache } from '../../src/organizations/token-cache.ts';
import { createApiKey, hashToken, revokeApiKey } from '../../src/organizations/tokens.ts';
import { type ErrorEnvelope, RestClient, send } from '../helpers/http.ts';
import { type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { openTestDatabase, startTestServer, type TestServer } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { countStatements } from '../helpers/sql-counter.ts';

// Issue #10 item 5: a verified token costs no statement; a revoked token stops working within 1 s on
// every running instance; an expired one stops at its expiry although cached.
const REVOKED_EVERYWHERE_WITHIN_MS = 1_000;

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Answer {
  status: number;
  body: { error?: ErrorEnvelope; [key: string]: unknown };
}

async function get(base: string, path: string, token: string): Promise<Answer> {
  return await send<Answer['body']>(base, { path, headers: { 'x-api-token': token } });
}

const listSources = (base: string, token: string) => get(base, '/v3/rest/feedback-sources', token);

/** A sample of the server's Prometheus metrics, e.g. `api_token_cache_lookups_total{result="hit"}`. */
async function metric(base: string, sample: string): Promise<number> {
  const { text } = await send(base, { path: '/metrics' });
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

const hits = (base: string) => metric(base, 'api_token_cache_lookups_total{result="hit"}');

/** Runs the keys CLI, as an operator does, against `databaseUrl`. */
function keys(databaseUrl: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['src/organizations/keys.cli.ts', ...args], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 30_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
    });
  });
}

/** Milliseconds from `since` until `base` refuses `token` with 401 API_TOKEN_REVOKED; fails after 5 s. */
async function revokedAfter(base: string, token: string, since: number): Promise<number> {
  for (;;) {
    const answer = await listSources(base, token);
    const elapsed = performance.now() - since;
    if (answer.status === 401) {
      expect(answer.body.error).toMatchObject({ type: 'authentication_error', code: 'API_TOKEN_REVOKED' });
      return elapsed;
    }
    expect(answer.status).toBe(200);
    if (elapsed > 5_000) throw new Error(`${base} still accepts the revoked token after 5 s`);
    await sleep(10);
  }
}

describe('one server process', () => {
  let server: TestServer;
  let sourceId: number;

  beforeAll(async () => {
    server = await startTestServer();
    const token = await server.createToken('Acme');
    sourceId = (await new RestClient(server.url, token).createSource({ name: 'Zendesk Support Tickets', type: 'support_tickets' })).id;
  });

  afterAll(() => server?.close());

  it('costs the second GET of a source with a token one statement less than the first: the token lookup', async () => {
    const token = await server.createToken('Acme');
    const first = await countStatements(() => get(server.url, `/v3/rest/feedback-sources/${sourceId}`, token));
    const second = await countStatements(() => get(server.url, `/v3/rest/feedback-sources/${sourceId}`, token));
    expect([first.result.status, second.result.status]).toEqual([200, 200]);
    expect(first.statements.length).toBe(second.statements.length + 1);
    expect(first.statements.filter((statement) => statement.includes('"api_key"'))).toHaveLength(1);
    expect(second.statements.filter((statement) => statement.includes('"api_key"'))).toEqual([]);
  });

  it('answers 401 API_TOKEN_EXPIRED once a cached token expires, without reading its key again', async () => {
    const expiresAt = new Date(Date.now() + 1_500);
    const { token } = await createApiKey(server.orm.em.fork(), 'Acme', scopes, expiresAt);
    expect((await listSources(server.url, token)).status).toBe(200);
    const cachedBefore = await hits(server.url);
    expect((await listSources(server.url, token)).status).toBe(200);
    expect(await hits(server.url)).toBe(cachedBefore + 1);

    await sleep(expiresAt.getTime() - Date.now() + 50);
    const expired = await countStatements(() => listSources(server.url, token));
    expect(expired.result.status).toBe(401);
    expect(expired.result.body.error).toMatchObject({ type: 'authentication_error', code: 'API_TOKEN_EXPIRED' });
    expect(expired.statements).toEqual([]);
  });

  it('shows the cache on /metrics: lookups by result, entries, and whether revocations are heard', async () => {
    const token = await server.createToken('Acme');
    const missesBefore = await metric(server.url, 'api_token_cache_lookups_total{result="miss"}');
    const hitsBefore = await hits(server.url);
    await listSources(server.url, token);
    await listSources(server.url, token);
    expect(await metric(server.url, 'api_token_cache_lookups_total{result="miss"}')).toBe(missesBefore + 1);
    expect(await hits(server.url)).toBe(hitsBefore + 1);
    expect(await metric(server.url, 'api_token_cache_entries')).toBeGreaterThanOrEqual(1);
    expect(await metric(server.url, 'api_token_revocations_listening')).toBe(1);
  });
});

describe('the token cache', () => {
  const MAX = 3;
  let orm: MikroORM;
  let cache: TokenCache;
  let tokens: string[];

  beforeAll(async () => {
    const database = await openTestDatabase();
    orm = database.orm;
    cache = createTokenCache(orm, pino({ level: 'silent' }), { max: MAX });
    await cache.start();
    tokens = [];
    for (let i = 0; i < MAX + 2; i++) tokens.push(await database.createToken('Bounded'));
  });

  afterAll(async () => {
    await cache?.close();
    await orm?.close();
  });

  const lookups = async (token: string) => (await countStatements(() => cache.authenticate(token))).statements.length;

  it('holds at most its size, dropping the least recently used token', async () => {
    expect(cache.listening).toBe(true);
    for (const token of tokens) await cache.authenticate(token);
    expect(cache.size).toBe(MAX);
    expect(await lookups(tokens.at(-1) ?? '')).toBe(0);
    expect(await lookups(tokens[0] ?? '')).toBe(1);
    expect(cache.size).toBe(MAX);
  });

  it('keeps no unknown token, so guesses neither grow it nor push real tokens out', async () => {
    const kept = tokens.slice(-MAX);
    for (const token of kept) await cache.authenticate(token);
    for (let i = 0; i < 50; i++) await expect(cache.authenticate(`fgw_guess-${i}`)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' });
    expect(cache.size).toBe(MAX);
    for (const token of kept) expect(await lookups(token)).toBe(0);
  });

  it('accepts at once a token that was refused as unknown a moment before it was created', async () => {
    const token = 'fgw_created-after-a-refusal';
    await expect(cache.authenticate(token)).rejects.toMatchObject({ code: 'API_TOKEN_INVALID' });
    const { key } = await createApiKey(orm.em.fork(), 'Bounded', scopes, null);
    await runSql(String(orm.config.get('clientUrl')), 'update "api_key" set "token_hash" = $1 where "id" = $2', [hashToken(token), key.id]);
    expect(await cache.authenticate(token)).toMatchObject({ apiKeyId: key.id, organizationName: 'Bounded' });
  });

  it('stops listening and lets go of its connection when closed', async () => {
    const url = String(orm.config.get('clientUrl'));
    const listeners = () => runSql(url, 'select pid from pg_stat_activity where application_name = $1 and datname = current_database()', [REVOCATION_LISTENER_NAME]);
    expect(await listeners()).toHaveLength(1);
    await cache.close();
    expect(cache.listening).toBe(false);
    expect(cache.size).toBe(0);
    for (let i = 0; i < 100 && (await listeners()).length > 0; i++) await sleep(20);
    expect(await listeners()).toEqual([]);
  });
});

describe('two server processes on one database', () => {
  let databaseUrl: string;
  let orm: MikroORM;
  let servers: ChildService[] = [];

  const newToken = async () => {
    const { key, token } = await createApiKey(orm.em.fork(), 'Two Instances', scopes, null);
    return { id: key.id, token };
  };

  /** Uses the token twice on each server, and checks that the second use came from the cache. */
  async function useEverywhere(token: string): Promise<void> {
    for (const server of servers) {
      expect((await listSources(server.url, token)).status).toBe(200);
      const before = await hits(server.url);
      expect((await listSources(server.url, token)).status).toBe(200);
      expect(await hits(server.url)).toBe(before + 1);
    }
  }

  async function listeningEverywhere(): Promise<void> {
    for (const server of servers) {
      for (let i = 0; i < 250 && (await metric(server.url, 'api_token_revocations_listening')) !== 1; i++) await sleep(20);
      expect(await metric(server.url, 'api_token_revocations_listening')).toBe(1);
    }
  }

  beforeAll(async () => {
    ({ url: databaseUrl, orm } = await openTestDatabase());
    servers = await Promise.all([1, 2].map(() => startServerProcess({ DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0' })));
    await listeningEverywhere();
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await orm?.close();
  });

  it('refuses a token revoked with `npm run keys -- revoke` with 401 API_TOKEN_REVOKED on both within 1 s of the CLI exiting', async () => {
    const { id, token } = await newToken();
    await useEverywhere(token);

    const run = await keys(databaseUrl, 'revoke', String(id));
    const exited = performance.now();
    expect(run.code, run.stderr).toBe(0);

    const elapsed = await Promise.all(servers.map((server) => revokedAfter(server.url, token, exited)));
    for (const ms of elapsed) expect(ms).toBeLessThan(REVOKED_EVERYWHERE_WITHIN_MS);
  });

  it('keeps accepting the other tokens of the organization after a revocation', async () => {
    const kept = await newToken();
    const revoked = await newToken();
    await useEverywhere(kept.token);
    const run = await keys(databaseUrl, 'revoke', String(revoked.id));
    expect(run.code, run.stderr).toBe(0);
    for (const server of servers) expect((await listSources(server.url, kept.token)).status).toBe(200);
  });

  it('refuses within 1 s a token revoked just after the listening connections were cut, then listens again', async () => {
    const { id, token } = await newToken();
    await useEverywhere(token);

    const cut = await runSql<{ terminated: boolean }>(
      databaseUrl,
      'select pg_terminate_backend(pid) as "terminated" from pg_stat_activity where application_name = $1 and datname = current_database()',
      [REVOCATION_LISTENER_NAME],
    );
    expect(cut).toEqual(servers.map(() => ({ terminated: true })));
    // Committed before the processes listen again, so they never hear it: each must stop trusting its cache.
    expect(await revokeApiKey(orm.em.fork(), id)).toBeInstanceOf(Date);
    const revokedAt = performance.now();

    const elapsed = await Promise.all(servers.map((server) => revokedAfter(server.url, token, revokedAt)));
    for (const ms of elapsed) expect(ms).toBeLessThan(REVOKED_EVERYWHERE_WITHIN_MS);
    await listeningEverywhere();
  });

  it('uses the cache again once listening again, and hears the next revocation within 1 s', async () => {
    await listeningEverywhere();
    const { id, token } = await newToken();
    await useEverywhere(token);

    const run = await keys(databaseUrl, 'revoke', String(id));
    const exited = performance.now();
    expect(run.code, run.stderr).toBe(0);

    const elapsed = await Promise.all(servers.map((server) => revokedAfter(server.url, token, exited)));
    for (const ms of elapsed) expect(ms).toBeLessThan(REVOKED_EVERYWHERE_WITHIN_MS);
  });
});
