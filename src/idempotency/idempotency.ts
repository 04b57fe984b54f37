import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../database/orm.ts';
import { query, sql } from '../database/sql.ts';
import { ConflictError, ValidationError } from '../errors/api-error.ts';
import type { DomainEvent } from '../events/domain-events.ts';
import { type AfterCommit, openAfterCommit } from '../events/event-bus.ts';
import { MAX_IDEMPOTENCY_KEY_LENGTH } from '../http/limits.ts';
import { jsonDepth, MAX_JSON_DEPTH } from '../validation/values.ts';
import { wakeAfterCommit } from '../webhooks/outbox-signal.ts';

/** Printable ASCII characters (U+0020 to U+007E), as SPEC §7 states. */
export const IDEMPOTENCY_KEY = new RegExp(`^[\\x20-\\x7E]{1,${MAX_IDEMPOTENCY_KEY_LENGTH}}$`);
const RULE = `1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (U+0020 to U+007E)`;

/** What was wrong with a refused key, counted in characters as sent (headers arrive as Latin-1 bytes). */
function describeKey(value: string): string {
  const characters = [...Buffer.from(value, 'latin1').toString('utf8')];
  const outside = characters.find((character) => !/^[\x20-\x7E]$/.test(character));
  const count = `${characters.length} character${characters.length === 1 ? '' : 's'}`;
  if (outside === undefined) return count;
  const codePoint = `U+${(outside.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  return `${count}, including ${codePoint}, which is not printable ASCII`;
}

/** The request's Idempotency-Key, null when none was sent; malformed keys are refused. */
export function idempotencyKeyOf(headers: IncomingHttpHeaders): string | null {
  const value = headers['idempotency-key'];
  if (value === undefined) return null;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new ValidationError('INVALID_IDEMPOTENCY_KEY', {
      param: 'Idempotency-Key',
      message: `The Idempotency-Key header must be ${RULE}; got ${typeof value === 'string' ? describeKey(value) : 'several values'}.`,
    });
  }
  return value;
}

/** Key order and whitespace do not make a retry's body "different". */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What "the same request" means: the same query string and the same JSON body, whatever its key
 * order or spacing. A body nested too deeply to be valid is compared by its text instead, so
 * canonicalising never recurses without bound.
 */
export function requestHash(queryString: string, body: unknown, rawBody: string): string {
  const text = jsonDepth(body) <= MAX_JSON_DEPTH ? canonical(body) : rawBody;
  return createHash('sha256').update(queryString).update('\u0000').update(text).digest('hex');
}

/** A transaction-scoped advisory lock per (organization, key): held while the first request runs. */
function lockId(organizationId: number, key: string): string {
  return createHash('sha256').update(`${organizationId}\u0000${key}`).digest().readBigInt64BE().toString();
}

export interface StoredResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface IdempotentRequest {
  organizationId: number;
  key: string;
  method: string;
  path: string;
  hash: string;
  ttlSeconds: number;
}

/** A write's response, and whether it is to be kept for the key (a failed write's is not). */
export type WriteResponse = StoredResponse & { store: boolean };

export interface IdempotentOutcome {
  response: StoredResponse;
  replayed: boolean;
  /** The events of the write, once it has committed: none for a replay or a write rolled back. */
  committed: DomainEvent[];
}

interface StoredRow {
  method: string;
  path: string;
  request_hash: string;
  status: number;
  content_type: string;
  response_body: string;
}

/** The key's lock, with its live stored response when there is one (all columns null otherwise). */
type LockedLookup = { locked: boolean } & (StoredRow | { [Column in keyof StoredRow]: null });

/** Ends the transaction with a rollback and answers with `outcome`: nothing of the write is kept. */
class RolledBack extends Error {
  readonly outcome: IdempotentOutcome;

  constructor(outcome: IdempotentOutcome) {
    super('idempotent write rolled back');
    this.outcome = outcome;
  }
}

function inProgress(key: string): ConflictError {
  return new ConflictError('IDEMPOTENCY_KEY_IN_PROGRESS', { param: 'Idempotency-Key', message: `A request with Idempotency-Key "${key}" is still being processed.` });
}

/** The stored response of this request, or the conflict of a key used for another one. */
function replayOf(stored: StoredRow, request: IdempotentRequest): IdempotentOutcome {
  if (stored.method !== request.method || stored.path !== request.path) {
    throw new ConflictError('IDEMPOTENCY_KEY_REUSE', {
      param: 'Idempotency-Key',
      message: `Idempotency-Key "${request.key}" was used for ${stored.method} ${stored.path}, not ${request.method} ${request.path}.`,
    });
  }
  if (stored.request_hash !== request.hash) {
    throw new ConflictError('IDEMPOTENCY_KEY_MISMATCH', { param: 'Idempotency-Key', message: `Idempotency-Key "${request.key}" was used with a different request body.` });
  }
  return { response: { status: stored.status, contentType: stored.content_type, body: stored.response_body }, replayed: true, committed: [] };
}

const findLive = (em: EntityManager, request: IdempotentRequest) =>
  query(
    em,
    sql<StoredRow>`select "method", "path", "request_hash", "status", "content_type", "response_body" from "idempotency_key"
      where "organization_id" = ${request.organizationId} and "key" = ${request.key} and "expires_at" > now()`,
  );

/**
 * Runs a write at most once per key, in five statements: BEGIN, the key's lock and its stored
 * response (one statement), the write, the response's store, COMMIT; a replay takes three. The write
 * and its stored response commit in one transaction, so a crash leaves either both or neither; a
 * failed write (thrown, or `store: false`) is rolled back and stores nothing, so the key stays free.
 * The lock is tried, not waited for: a second request while the first runs is told so at once.
 *
 * The lock and the lookup share a statement, hence a snapshot taken before the lock is granted: a
 * first request that commits in that instant hands the lock over while the lookup misses its
 * response. The store is the arbiter: ON CONFLICT sees committed rows whatever the snapshot, and it
 * overwrites an expired response only (now() is the transaction's start, the lookup's too, so both
 * agree on what expired). When it changes no row, a live response committed before the lock was
 * granted, which any statement after the lookup sees: the transaction (this duplicate write with it)
 * is rolled back, and the request answered from that response, or refused when it was another
 * request's. One statement more, on that path only.
 *
 * The operations `write` runs join this transaction, so the events they emit wait for its COMMIT and
 * come back as `committed`, and the webhook messages they queue wake the delivery after it; a
 * rollback drops both.
 */
export async function runIdempotent(orm: MikroORM, request: IdempotentRequest, write: (em: EntityManager) => Promise<WriteResponse>): Promise<IdempotentOutcome> {
  let afterCommit: AfterCommit | undefined;
  try {
    const outcome = await wakeAfterCommit(() => orm.em.fork().transactional(async (em): Promise<IdempotentOutcome> => {
      afterCommit = openAfterCommit(em);
      const [found] = await query(
        em,
        // Materialized, so the lock is tried exactly once whatever the plan.
        sql<LockedLookup>`with "lock" as materialized (select pg_try_advisory_xact_lock(${lockId(request.organizationId, request.key)}::bigint) as "locked")
          select "lock"."locked", "stored"."method", "stored"."path", "stored"."request_hash", "stored"."status", "stored"."content_type", "stored"."response_body"
          from "lock" left join "idempotency_key" as "stored" on "lock"."locked" and "stored"."organization_id" = ${request.organizationId}
            and "stored"."key" = ${request.key} and "stored"."expires_at" > now()`,
        { prepared: true },
      );
      if (!found?.locked) throw inProgress(request.key);
      if (found.method !== null) return replayOf(found, request);

      const response = await write(em);
      const written = { response: { status: response.status, contentType: response.contentType, body: response.body }, replayed: false, committed: [] };
      if (!response.store) throw new RolledBack(written);
      const [stored] = await query(
        em,
        sql<{ stored: boolean }>`insert into "idempotency_key" ("organization_id", "key", "method", "path", "request_hash", "status", "content_type", "response_body", "created_at", "expires_at")
          values (${request.organizationId}, ${request.key}, ${request.method}, ${request.path}, ${request.hash}, ${response.status}, ${response.contentType}, ${response.body},
            now(), now() + make_interval(secs => ${request.ttlSeconds}))
          on conflict ("organization_id", "key") do update set
            "method" = excluded."method", "path" = excluded."path", "request_hash" = excluded."request_hash", "status" = excluded."status",
            "content_type" = excluded."content_type", "response_body" = excluded."response_body", "created_at" = excluded."created_at", "expires_at" = excluded."expires_at"
          where "idempotency_key"."expires_at" <= now()
          returning true as "stored"`,
        { prepared: true },
      );
      if (stored) return written;
      const [live] = await findLive(em, request);
      // Gone already (it expired and was purged): the client's retry runs afresh.
      if (!live) throw inProgress(request.key);
      throw new RolledBack(replayOf(live, request));
    }));
    return outcome.replayed ? outcome : { ...outcome, committed: afterCommit?.take() ?? [] };
  } catch (error) {
    if (error instanceof RolledBack) return error.outcome;
    throw error;
  }
}

/** Expired keys deleted per statement: each batch finishes well within the statement timeout, however large the backlog. */
const PURGE_BATCH = 5_000;

/** Deletes expired keys; the server runs it periodically so stored responses do not pile up. */
export async function purgeExpiredKeys(em: EntityManager): Promise<number> {
  let purged = 0;
  for (;;) {
    const [row] = await query(
      em,
      sql<{ count: string }>`with "purged" as (
        delete from "idempotency_key" where "id" in (select "id" from "idempotency_key" where "expires_at" <= now() limit ${PURGE_BATCH}) returning 1
      ) select count(*) as "count" from "purged"`,
    );
    const count = Number(row?.count ?? 0);
    purged += count;
    if (count < PURGE_BATCH) return purged;
  }
}

/** Expired keys are dropped every minute, by whichever instance gets there first. */
export function schedulePurge(orm: MikroORM, log: { warn(details: object, message: string): void }): () => void {
  const timer = setInterval(() => {
    purgeExpiredKeys(orm.em.fork()).catch((error: unknown) => log.warn({ err: error }, 'could not purge expired idempotency keys'));
  }, 60_000).unref();
  return () => clearInterval(timer);
}
