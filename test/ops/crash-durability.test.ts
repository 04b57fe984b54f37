import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker, type StreamedWrite, sendWrite, type WriteAnswer } from '../helpers/crash-writes.ts';
import { RestClient } from '../helpers/http.ts';
import { type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { createDatabaseWithToken } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { sleep } from '../helpers/wait.ts';

// SPEC §7 and §10, README "Durability": a 2xx means committed, and a write and its stored
// idempotent response commit together, so after a crash a retry with the same key writes exactly once.
// The real server runs as a child process and is killed with SIGKILL in the middle of a write stream.

const WORKERS = 8;
const KILL_AFTER_MS = 1_000;

let databaseUrl: string;
let env: Record<string, string>;
let first: ChildService | undefined;
let second: ChildService | undefined;
let token: string;
let sourceId: string;
const writes: StreamedWrite[] = [];
/** What was in the database after the restart, before any retry: external_id → record rows. */
let committed: Map<string, StoredRecord[]>;
/** The retries of unanswered writes that had a key, with the answer each got. */
const retries: { write: StreamedWrite; committedBefore: StoredRecord | null; answer: WriteAnswer }[] = [];

interface StoredRecord {
  id: string;
  external_id: string;
  fields: StreamedWrite['fields'];
}

async function storedRecords(): Promise<Map<string, StoredRecord[]>> {
  const rows = await runSql<StoredRecord>(databaseUrl, 'select "id"::text as "id", "external_id", "fields" from "feedback_record" where "source_id" = $1 order by "id"', [sourceId]);
  const byExternalId = new Map<string, StoredRecord[]>();
  for (const row of rows) byExternalId.set(row.external_id, [...(byExternalId.get(row.external_id) ?? []), row]);
  return byExternalId;
}

const acknowledged = () => writes.filter((write) => write.outcome === 'acknowledged');
const unanswered = () => writes.filter((write) => write.outcome === 'unanswered');

beforeAll(async () => {
  ({ databaseUrl, token } = await createDatabaseWithToken('Crash Corp'));
  env = { DATABASE_URL: databaseUrl, RATE_LIMIT_PER_MINUTE: '0' };

  first = await startServerProcess(env);
  sourceId = String((await new RestClient(first.url, token).createSource({ name: 'Zendesk Support Tickets', type: 'support_tickets' })).id);

  let killed = false;
  const base = first.url;
  const workers = Array.from({ length: WORKERS }, (_, w) => runWorker(w, base, token, sourceId, () => killed, writes));
  await sleep(KILL_AFTER_MS);
  killed = true;
  first.child.kill('SIGKILL');
  await first.exited;
  await Promise.all(workers);

  second = await startServerProcess(env);
  committed = await storedRecords();
  for (const write of unanswered().filter((candidate) => candidate.key !== null)) {
    const answer = await sendWrite(second.url, token, sourceId, write);
    retries.push({ write, committedBefore: committed.get(write.externalId)?.[0] ?? null, answer });
  }
}, 60_000);

afterAll(async () => {
  await first?.stop();
  await second?.stop();
});

describe('a server killed with SIGKILL in the middle of a stream of writes', () => {
  it('was killed after some writes were answered and while others were in flight', () => {
    // Which kinds of write happen to be in flight at the kill depends on timing; that some are is the point.
    expect(acknowledged().length).toBeGreaterThan(0);
    expect(unanswered().length).toBeGreaterThan(0);
  });

  it('answered every write it answered with success', () => {
    expect(writes.filter((write) => write.outcome === 'refused').map((write) => `${write.externalId}: ${write.status}`)).toEqual([]);
  });

  it('keeps every write it answered 2xx exactly once, under the record id it answered with', () => {
    const found = acknowledged().map((write) => ({ externalId: write.externalId, ids: (committed.get(write.externalId) ?? []).map((record) => record.id) }));
    expect(found).toEqual(acknowledged().map((write) => ({ externalId: write.externalId, ids: [write.recordId] })));
  });

  it('keeps at most one record for each write it never answered', () => {
    expect(unanswered().filter((write) => (committed.get(write.externalId)?.length ?? 0) > 1).map((write) => write.externalId)).toEqual([]);
  });

  it('leaves no partial record: every record holds exactly the fields it was sent with', () => {
    const sent = new Map(writes.map((write) => [write.externalId, write.fields]));
    const stored = [...committed.values()].flat();
    expect(stored.map((record) => ({ externalId: record.external_id, fields: record.fields }))).toEqual(stored.map((record) => ({ externalId: record.external_id, fields: sent.get(record.external_id) })));
  });
});

describe('after a restart on the same database', () => {
  it('answers every retry of an unanswered write with the same Idempotency-Key and body with success', () => {
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.map(({ write, answer }) => ({ externalId: write.externalId, succeeded: answer.recordId !== null, answer: answer.recordId === null ? answer.text : '' }))).toEqual(
      retries.map(({ write }) => ({ externalId: write.externalId, succeeded: true, answer: '' })),
    );
  });

  it('replays a retried write exactly when it was committed before the crash, with the committed record id', () => {
    const actual = retries.map(({ write, answer }) => ({ externalId: write.externalId, replayed: answer.replayed, recordId: answer.recordId }));
    const expected = retries.map(({ write, committedBefore, answer }) => ({
      externalId: write.externalId,
      replayed: committedBefore !== null,
      recordId: committedBefore?.id ?? answer.recordId,
    }));
    expect(actual).toEqual(expected);
  });

  it('ends with exactly one record for every retried write', async () => {
    const now = await storedRecords();
    expect(retries.map(({ write }) => ({ externalId: write.externalId, count: now.get(write.externalId)?.length ?? 0 }))).toEqual(retries.map(({ write }) => ({ externalId: write.externalId, count: 1 })));
  });

  it('replays every write answered 2xx before the crash that had a key, writing nothing', async () => {
    const keyed = acknowledged().filter((write) => write.key !== null);
    const answers = [];
    for (const write of keyed) answers.push(await sendWrite(second?.url ?? '', token, sourceId, write));
    expect(answers.map((answer) => ({ replayed: answer.replayed, recordId: answer.recordId }))).toEqual(keyed.map((write) => ({ replayed: true, recordId: write.recordId })));
    const now = await storedRecords();
    expect(keyed.filter((write) => now.get(write.externalId)?.length !== 1).map((write) => write.externalId)).toEqual([]);
  });
});
