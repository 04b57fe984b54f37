import cluster from 'node:cluster';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterCluster,
  RateLimiterClusterMaster,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { RateLimitError } from '../errors/api-error.ts';

const WINDOW_SECONDS = 60;
const KEY_PREFIX = 'feedback-gateway:rate';
/** The primary answers over IPC within milliseconds; one that does not is stuck, and requests must not wait on it. */
const PRIMARY_ANSWER_MS = 1_000;

export interface RateLimiter {
  /** Counts one request for `key`, sets the RateLimit-* headers, and throws RATE_LIMITED past the limit. */
  consume(key: string, reply: FastifyReply): Promise<void>;
  /** The Redis the counters live in (REDIS_URL), for the status page; null without one. */
  readonly redis: Redis | null;
  close(): Promise<void>;
}

/**
 * In the primary process of WORKERS > 1: keeps the counters of every worker, which consult it over
 * the cluster's IPC channel, so that N workers share one budget per key rather than having N.
 */
export function keepRateLimitsForWorkers(): void {
  new RateLimiterClusterMaster();
}

/**
 * Requests per minute per key, counted in this process (in the primary for every worker, with
 * WORKERS > 1) or, with REDIS_URL, in Redis so that every instance shares one budget. If Redis or
 * the primary cannot be reached, counting falls back to this process rather than refusing traffic.
 */
export async function createRateLimiter(perMinute: number, redisUrl: string | undefined, log: FastifyBaseLogger): Promise<RateLimiter | null> {
  if (perMinute === 0) return null;
  const options = { points: perMinute, duration: WINDOW_SECONDS, keyPrefix: KEY_PREFIX };
  const inProcess = new RateLimiterMemory(options);
  const shared: RateLimiterAbstract | null = cluster.isWorker ? new RateLimiterCluster({ ...options, timeoutMs: PRIMARY_ANSWER_MS }) : null;
  let redis: Redis | null = null;
  let limiter: RateLimiterAbstract = shared ?? inProcess;
  if (redisUrl) {
    // Loaded only for REDIS_URL: ioredis holds about 3 MiB in each process that never uses it.
    const { Redis } = await import('ioredis');
    redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
    redis.on('error', (error) => log.warn({ err: error }, 'Redis for rate limits is unreachable; counting without it'));
    limiter = new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: shared ?? inProcess });
  }

  const count = async (key: string): Promise<RateLimiterRes> => {
    try {
      return await limiter.consume(key);
    } catch (rejection) {
      // A RateLimiterRes is the limit speaking; anything else is the primary not answering in time.
      if (rejection instanceof RateLimiterRes || shared === null) throw rejection;
      log.warn({ err: rejection }, 'the primary process did not answer for rate limits; counting in this process');
      return await inProcess.consume(key);
    }
  };

  const setHeaders = (reply: FastifyReply, state: RateLimiterRes) => {
    reply.header('RateLimit-Limit', perMinute);
    reply.header('RateLimit-Remaining', Math.max(0, state.remainingPoints));
    reply.header('RateLimit-Reset', Math.ceil(state.msBeforeNext / 1000));
  };

  return {
    redis,
    async consume(key, reply) {
      try {
        setHeaders(reply, await count(key));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        setHeaders(reply, rejection);
        const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
        reply.header('Retry-After', retryAfter);
        throw new RateLimitError(retryAfter, { message: `Too many requests: the limit is ${perMinute} per minute. Retry in ${retryAfter} seconds.` });
      }
    },
    async close() {
      redis?.disconnect();
    },
  };
}
