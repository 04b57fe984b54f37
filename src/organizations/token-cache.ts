import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import { Counter, Gauge } from 'prom-client';
import type { MikroORM } from '../database/orm.ts';
import { DATABASE_TIMEOUTS } from '../database/timeouts.ts';
import { API_KEY_REVOKED_CHANNEL, findKeyByTokenHash, hashToken, type KeyStanding, viewerOfKey } from './tokens.ts';
import type { Viewer } from './viewer.ts';

/** Room for every token in active use; an entry is a few hundred bytes. */
export const TOKEN_CACHE_SIZE = 10_000;
/** How the listening connection shows in pg_stat_activity. */
export const REVOCATION_LISTENER_NAME = 'feedback-gateway revocation listener';
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 2_000;
const CLOSE_WITHIN_MS = 1_000;

export interface TokenCache {
  /** The viewer of a token, refused when it is unknown, revoked or expired at `now`. */
  authenticate(token: string, now?: Date): Promise<Viewer>;
  /** Listens for revocations; a failed first attempt is retried in the background. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** Tokens held now. */
  readonly size: number;
  /** Whether revocations are being heard, so the cache is in use. */
  readonly listening: boolean;
  /** For the app's Prometheus registry. */
  readonly metrics: (Counter | Gauge)[];
}

/**
 * Verified tokens of this process keyed by their SHA-256, so a request with a known token runs no
 * statement to authenticate. Expiry is checked at every use. Revocations arrive by NOTIFY on a
 * connection of its own; while that connection is not listening (start-up, outage, restart), one
 * could be missed, so the cache is emptied and bypassed until LISTEN is back.
 *
 * Unknown tokens are not cached: guesses cannot push real tokens out nor grow memory, and a token
 * created a moment ago works at once. Revoked and expired keys are cached: both states are final.
 */
export function createTokenCache(orm: MikroORM, log: FastifyBaseLogger, options: { max?: number } = {}): TokenCache {
  const entries = new LRUCache<string, KeyStanding>({ max: options.max ?? TOKEN_CACHE_SIZE });
  let listening = false;
  // Bumped by every revocation and every listener change: a lookup that started under another value
  // may have read a key revoked meanwhile, so it must not store what it read.
  let generation = 0;

  const lookups = new Counter({
    name: 'api_token_cache_lookups_total',
    help: 'Token authentications by how the key was found: hit (cache), miss (read and cached), bypass (read; cache off while revocations are not heard).',
    labelNames: ['result'] as const,
    registers: [],
  });
  const size: Gauge = new Gauge({ name: 'api_token_cache_entries', help: 'Verified tokens held in this process.', registers: [], collect: () => size.set(entries.size) });
  const heard: Gauge = new Gauge({
    name: 'api_token_revocations_listening',
    help: '1 while this process hears key revocations (and uses its token cache), else 0.',
    registers: [],
    collect: () => heard.set(listening ? 1 : 0),
  });

  const listener = listenForRevocations(String(orm.config.get('clientUrl')), log, {
    up() {
      generation++;
      listening = true;
    },
    down() {
      generation++;
      listening = false;
      entries.clear();
    },
    revoked(payload) {
      generation++;
      const id = Number(payload);
      if (!Number.isSafeInteger(id)) {
        entries.clear();
        return;
      }
      const stale = [...entries.entries()].filter(([, key]) => key.viewer.apiKeyId === id).map(([hash]) => hash);
      for (const hash of stale) entries.delete(hash);
    },
  });

  return {
    async authenticate(token, now = new Date()) {
      const hash = hashToken(token);
      const cached = entries.get(hash);
      if (cached) {
        lookups.inc({ result: 'hit' });
        return viewerOfKey(cached, now);
      }
      const seen = generation;
      const cacheable = listening;
      const key = await findKeyByTokenHash(orm.em.fork(), hash);
      lookups.inc({ result: cacheable ? 'miss' : 'bypass' });
      if (key && cacheable && seen === generation) entries.set(hash, key);
      return viewerOfKey(key, now);
    },
    start: () => listener.start(),
    close: () => listener.close(),
    get size() {
      return entries.size;
    },
    get listening() {
      return listening;
    },
    metrics: [lookups, size, heard],
  };
}

interface RevocationEvents {
  /** LISTEN is in effect: every revocation committed from now on will be heard. */
  up(): void;
  /** The connection is gone; revocations may go unheard until up() again. */
  down(): void;
  revoked(payload: string | undefined): void;
}

/**
 * A dedicated connection (a pooled one would be handed out and released) that LISTENs and comes back
 * with a growing delay whenever it is lost. It never delays a request; close() ends it within
 * CLOSE_WITHIN_MS even when the database is frozen, and leaves no timer behind.
 */
function listenForRevocations(url: string, log: FastifyBaseLogger, events: RevocationEvents) {
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  let closed = false;

  const lost = (which: pg.Client, error: unknown) => {
    if (client !== which) return;
    client = null;
    events.down();
    // Once per outage, not once per attempt.
    if (failures === 0) log.warn({ err: error }, 'not hearing API key revocations; every request reads its key from the database until listening again');
    which.connection.stream.destroy();
    if (closed) return;
    retry = setTimeout(() => void connect(), Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** failures++));
    retry.unref();
  };

  const connect = async () => {
    if (closed) return;
    const attempt = new pg.Client({
      connectionString: url,
      application_name: REVOCATION_LISTENER_NAME,
      connectionTimeoutMillis: DATABASE_TIMEOUTS.acquireMs,
      query_timeout: DATABASE_TIMEOUTS.answerMs,
      // An idle connection that a network device dropped silently is noticed by TCP keepalive.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client = attempt;
    attempt.on('error', (error) => lost(attempt, error));
    attempt.on('end', () => lost(attempt, new Error('connection ended')));
    attempt.on('notification', (message) => {
      if (client === attempt && message.channel === API_KEY_REVOKED_CHANNEL) events.revoked(message.payload);
    });
    try {
      await attempt.connect();
      await attempt.query(`listen ${API_KEY_REVOKED_CHANNEL}`);
    } catch (error) {
      lost(attempt, error);
      return;
    }
    if (client !== attempt) return;
    failures = 0;
    events.up();
    log.debug('listening for API key revocations');
  };

  return {
    start: () => connect(),
    async close() {
      closed = true;
      clearTimeout(retry);
      const open = client;
      client = null;
      events.down();
      if (!open) return;
      // A graceful goodbye, unless the database does not answer it in time.
      await Promise.race([open.end().catch(() => undefined), delay(CLOSE_WITHIN_MS, undefined, { ref: false })]);
      open.connection.stream.destroy();
    },
  };
}
