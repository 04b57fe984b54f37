import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDatabase } from '../../src/database/embedded.ts';
import type { MikroORM } from '../../src/database/orm.ts';
import { FeedbackRecord } from '../../src/records/record.entity.ts';
import { send } from '../helpers/http.ts';
import { type ChildExit, type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { type RawAnswer, RawConnection, requestText } from '../helpers/raw-socket.ts';
import { openTestDatabase } from '../helpers/server.ts';
import { FRESH_REQUEST_ID } from '../helpers/spec.ts';
import { sleep } from '../helpers/wait.ts';

/** How long the writers run before the signal. */
const LOAD_BEFORE_SIGNAL_MS = 1_000;
/**
 * main.ts waits up to 10 s for requests in flight; these answer within milliseconds, so a process
 * still running 5 s after the signal is waiting for something else.
 */
const EXIT_WITHIN_MS = 5_000;

const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  // Every process, connection and database goes, latest first, even when a test or a step failed.
  const failures: unknown[] = [];
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
});

/** The process's exit, or null when it is still running `ms` after the call. */
async function exitWithin(service: ChildService, ms: number): Promise<ChildExit | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The last lines the process logged, to explain a failed expectation about its exit. */
function lastLines(service: ChildService): string {
  return `last output:\n${service.output().trim().split('\n').slice(-5).join('\n')}`;
}

function fieldsOf(externalId: string) {
  return [
    { category: 'content', type: 'string', name: 'text', value: `Feedback ${externalId}` },
    { category: 'metadata', type: 'json', name: 'tags', value: ['shutdown', externalId] },
    { category: 'metadata', type: 'integer', name: 'rating', value: 4 },
  ];
}

interface Gateway {
  server: ChildService;
  orm: MikroORM;
  token: string;
  sourceId: number;
}

/** The gateway as its own process on a fresh database, with a token and a source; stopped in afterAll. */
async function startGateway(organization: string): Promise<Gateway> {
  const database = await openTestDatabase();
  const { orm } = database;
  cleanups.push(() => orm.close(true));
  // The organization exists before the process starts, so it prints no first-start token.
  const token = await database.createToken(organization);
  const server = await startServerProcess({ DATABASE_URL: database.url, LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0' });
  cleanups.push(() => server.stop());
  const created = await send<{ id: number }>(server.url, {
    method: 'POST',
    path: '/v3/rest/feedback-sources',
    headers: { 'x-api-token': token, connection: 'close' },
    json: { name: `${organization} source` },
  });
  expect(created.status).toBe(201);
  return { server, orm, token, sourceId: created.body.id };
}

async function storedRecords(gateway: Gateway): Promise<{ externalId: string | null; fields: unknown }[]> {
  const records = await gateway.orm.em.fork().find(FeedbackRecord, { source: gateway.sourceId }, { orderBy: { id: 'asc' } });
  return records.map(({ externalId, fields }) => ({ externalId: externalId ?? null, fields }));
}

/** Stands in for a response that never came, so each test reports what it expected of it. */
function noAnswer(error: unknown): RawAnswer {
  return { status: 0, headers: {}, body: String(error) };
}

type Outcome =
  /** The server answered; `acknowledged` when it said the record was ingested (REST 2xx, GraphQL IngestRecordSuccess). */
  | { kind: 'answered'; status: number; acknowledged: boolean }
  /** The TCP connection was refused: nothing listens any more. */
  | { kind: 'refused' }
  /** The connection broke without an answer, so the client cannot know what happened. */
  | { kind: 'broken'; code: string };

interface Attempt {
  externalId: string;
  startedAt: number;
  endedAt: number;
  outcome: Outcome;
}

const ingestMutation = 'mutation ($sourceId: ID!, $input: IngestRecordInput!) { ingestRecord(sourceId: $sourceId, input: $input) { __typename } }';

async function ingest(gateway: Gateway, via: 'rest' | 'graphql', externalId: string): Promise<Outcome> {
  const { server, token, sourceId } = gateway;
  const request =
    via === 'rest'
      ? { path: `/v3/rest/feedback-sources/${sourceId}/records`, json: { external_id: externalId, fields: fieldsOf(externalId) } }
      : { path: '/graphql', json: { query: ingestMutation, variables: { sourceId: String(sourceId), input: { externalId, fields: fieldsOf(externalId) } } } };
  try {
    const response = await send(server.url, { method: 'POST', ...request, headers: { 'x-api-token': token }, signal: AbortSignal.timeout(2 * EXIT_WITHIN_MS) });
    const acknowledged = via === 'rest' ? response.status >= 200 && response.status < 300 : response.status === 200 && response.text.includes('"__typename":"IngestRecordSuccess"');
    return { kind: 'answered', status: response.status, acknowledged };
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? (error as { name?: unknown }).name);
    return code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'broken', code };
  }
}

describe.each(['SIGTERM', 'SIGINT'] as const)('%s while 10 writers ingest records (DATABASE_URL)', (signal) => {
  const WRITERS = 10;
  let gateway: Gateway;
  const attempts: Attempt[] = [];
  let signalledAt: number;
  let exit: ChildExit | null;
  let stored: { externalId: string | null; fields: unknown }[];

  const acknowledged = () => attempts.filter(({ outcome }) => outcome.kind === 'answered' && outcome.acknowledged).map(({ externalId }) => externalId);

  beforeAll(async () => {
    gateway = await startGateway(`${signal} Corp`);
    // 8 REST writers and 2 GraphQL writers, each sending until its connection is refused.
    const giveUpAt = performance.now() + LOAD_BEFORE_SIGNAL_MS + 2 * EXIT_WITHIN_MS;
    const writer = async (via: 'rest' | 'graphql', worker: number) => {
      for (let n = 0; ; n++) {
        const externalId = `${signal}-${via}-${worker}-${n}`;
        const startedAt = performance.now();
        const outcome = await ingest(gateway, via, externalId);
        attempts.push({ externalId, startedAt, endedAt: performance.now(), outcome });
        if (outcome.kind === 'refused' || performance.now() > giveUpAt) return;
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, worker) => (worker < 8 ? writer('rest', worker) : writer('graphql', worker)));

    await sleep(LOAD_BEFORE_SIGNAL_MS);
    signalledAt = performance.now();
    gateway.server.child.kill(signal);
    await Promise.all(writers);
    exit = await exitWithin(gateway.server, Math.max(0, signalledAt + EXIT_WITHIN_MS - performance.now()));
    stored = await storedRecords(gateway);
  }, 60_000);

  it('exits with code 0 within 5 s of the signal', () => {
    expect(exit, lastLines(gateway.server)).toEqual({ code: 0, signal: null });
  });

  it('answers the writes in flight when the signal arrives with 2xx', () => {
    // Sent at least 10 ms before the signal, so the server surely had them before it began to close.
    const inFlight = attempts.filter(({ startedAt, endedAt }) => startedAt < signalledAt - 10 && endedAt > signalledAt);
    // How many writes straddle the signal depends on timing; every one that does must succeed.
    const unanswered = inFlight.filter(({ outcome }) => !(outcome.kind === 'answered' && outcome.acknowledged));
    expect(unanswered.map(({ externalId, outcome }) => ({ externalId, outcome }))).toEqual([]);
  });

  it('has stored every write it answered 2xx exactly once', () => {
    const ids = acknowledged();
    expect(ids.length).toBeGreaterThan(0);
    const storedIds = stored.map(({ externalId }) => externalId);
    expect(ids.filter((externalId) => storedIds.filter((id) => id === externalId).length !== 1)).toEqual([]);
  });

  it('has stored no write it did not answer 2xx', () => {
    const ids = new Set(acknowledged());
    expect(stored.map(({ externalId }) => externalId).filter((externalId) => externalId === null || !ids.has(externalId))).toEqual([]);
  });

  it('has stored no partial record: every stored record holds exactly the fields that were sent', () => {
    expect(stored.length).toBeGreaterThan(0);
    expect(stored).toEqual(stored.map(({ externalId }) => ({ externalId, fields: fieldsOf(externalId ?? '') })));
  });

  it('stops accepting connections: every writer ends on a refused connection', () => {
    expect(attempts.filter(({ outcome }) => outcome.kind === 'refused')).toHaveLength(WRITERS);
  });
});

describe('SIGTERM while one write is in flight and another request has not finished its headers', () => {
  let gateway: Gateway;
  // An empty answer stands for a connection that closed without one (its error in `body`).
  let inFlight: RawAnswer;
  let late: RawAnswer;
  let lateConnectionClosed: boolean;
  let exit: ChildExit | null;
  let stored: { externalId: string | null; fields: unknown }[];

  beforeAll(async () => {
    gateway = await startGateway('In Flight Corp');
    const { server, token, sourceId } = gateway;
    const path = `/v3/rest/feedback-sources/${sourceId}/records`;
    const headers = { 'x-api-token': token, connection: 'keep-alive' };

    // The first request's headers are complete (it is routed and authenticated) but its body is not.
    const first = await RawConnection.open(server.url);
    cleanups.push(async () => first.close());
    const firstText = requestText('POST', path, headers, { external_id: 'in-flight', fields: fieldsOf('in-flight') });
    await first.write(firstText.slice(0, -10));
    // The second has sent only part of its headers: it is not routed yet.
    const second = await RawConnection.open(server.url);
    cleanups.push(async () => second.close());
    const secondText = requestText('POST', path, headers, { external_id: 'late', fields: fieldsOf('late') });
    const headersEnd = secondText.indexOf('\r\n\r\n');
    await second.write(secondText.slice(0, headersEnd));
    await sleep(300);

    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    await sleep(300);
    // A write to a connection the server has closed fails; the missing answer then tells.
    await second.write(secondText.slice(headersEnd)).catch(() => {});
    late = await second.response().catch(noAnswer);
    await sleep(50);
    lateConnectionClosed = second.closedByServer;
    await first.write(firstText.slice(-10)).catch(() => {});
    inFlight = await first.response().catch(noAnswer);
    // Like a pooling HTTP client, the first connection stays open after its answer.
    exit = await exitWithin(server, Math.max(0, signalledAt + EXIT_WITHIN_MS - performance.now()));
    stored = await storedRecords(gateway);
  }, 60_000);

  it('answers the write in flight with 201', () => {
    expect(inFlight.status, inFlight.body).toBe(201);
    expect(JSON.parse(inFlight.body)).toMatchObject({ source_id: gateway.sourceId, external_id: 'in-flight' });
  });

  it('has stored the write in flight with all its fields', () => {
    expect(stored.filter(({ externalId }) => externalId === 'in-flight')).toEqual([{ externalId: 'in-flight', fields: fieldsOf('in-flight') }]);
  });

  it('exits with code 0 within 5 s of the signal while the client keeps its connection open', () => {
    expect(exit, `${lastLines(gateway.server)}\nthe in-flight answer had Connection: ${inFlight.headers.connection}`).toEqual({ code: 0, signal: null });
  });

  it('serves the request whose headers were completed after the signal on its open connection, then closes it', () => {
    expect(late.status, late.body).toBe(201);
    expect(late.headers.connection).toBe('close');
    expect(lateConnectionClosed).toBe(true);
  });

  it('has stored that write exactly once with all its fields', () => {
    expect(stored.filter(({ externalId }) => externalId === 'late')).toEqual([{ externalId: 'late', fields: fieldsOf('late') }]);
  });

  it('sends X-Request-Id and correlation-id with that answer, as with every response (SPEC §4)', () => {
    expect(late.headers['x-request-id'] ?? 'no X-Request-Id header').toMatch(FRESH_REQUEST_ID);
    expect(late.headers['correlation-id']).toBe(late.headers['x-request-id']);
  });
});

describe('SIGINT with the embedded PostgreSQL (no DATABASE_URL, a temporary DATA_DIR)', () => {
  let dataDir: string;
  let pgData: string;
  let postmasterPid = 0;
  let exit: ChildExit | null;
  let server: ChildService;

  function isRunning(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as { code?: unknown }).code === 'EPERM';
    }
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-shutdown-'));
    pgData = path.join(dataDir, 'postgres');
    cleanups.push(async () => {
      // A PostgreSQL left behind by a failed shutdown is stopped before its files go.
      if (postmasterPid > 0 && isRunning(postmasterPid)) {
        process.kill(postmasterPid, 'SIGQUIT');
        for (let i = 0; i < 50 && isRunning(postmasterPid); i++) await sleep(100);
      }
      await rm(dataDir, { recursive: true, force: true });
    });
    server = await startServerProcess({ DATA_DIR: dataDir, LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0' });
    cleanups.push(() => server.stop());
    expect((await send(server.url, { path: '/readyz', headers: { connection: 'close' } })).status).toBe(200);
    postmasterPid = Number((await readFile(path.join(pgData, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    server.child.kill('SIGINT');
    exit = await exitWithin(server, EXIT_WITHIN_MS);
  }, 60_000);

  it('exits with code 0 within 5 s', () => {
    expect(exit, lastLines(server)).toEqual({ code: 0, signal: null });
  });

  it('leaves no PostgreSQL running for its data directory', () => {
    expect(postmasterPid).toBeGreaterThan(0);
    expect(existsSync(path.join(pgData, 'postmaster.pid'))).toBe(false);
    expect(isRunning(postmasterPid)).toBe(false);
  });

  it('leaves the database shut down cleanly: the next start needs no recovery', async () => {
    const log: string[] = [];
    const database = await startEmbeddedDatabase(dataDir, { log: (line) => log.push(line) });
    await database.stop();
    const startup = log.join('');
    expect(startup).toMatch(/database system was shut down at/);
    expect(startup).not.toMatch(/not properly shut down|interrupted|automatic recovery/);
  });
});
