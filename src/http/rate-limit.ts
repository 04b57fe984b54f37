import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimitError } from '../errors/api-error.ts';

const WINDOW_SECONDS = 60;

export interface RateLimiter {
  /** Counts one request for `key`, sets the RateLimit-* headers, and throws RATE_LIMITED past the limit. */
  consume(key: string, reply: FastifyReply): Promise<void>;
  close(): Promise<void>;
}

/**
 * Requests per minute per key, counted in this process or, with REDIS_URL, in Redis so that every
 * instance shares one budget. If Redis cannot be reached, counting falls back to this process
 * rather than refusing traffic.
 */
export function createRateLimiter(perMinute: number, redisUrl: string | undefined, log: FastifyBaseLogger): RateLimiter | null {
  if (perMinute === 0) return null;
  const options = { points: perMinute, duration: WINDOW_SECONDS, keyPrefix: 'feedback-gateway:rate' };
  let redis: Redis | null = null;
  let limiter: RateLimiterAbstract = new RateLimiterMemory(options);
  if (redisUrl) {
    redis = new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
    redis.on('error', (error) => log.warn({ err: error }, 'Redis for rate limits is unreachable; counting in this process'));
    limiter = new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: new RateLimiterMemory(options) });
  }

  const setHeaders = (reply: FastifyReply, state: RateLimiterRes) => {
    reply.header('RateLimit-Limit', perMinute);
    reply.header('RateLimit-Remaining', Math.max(0, state.remainingPoints));
    reply.header('RateLimit-Reset', Math.ceil(state.msBeforeNext / 1000));
  };

  return {
    async consume(key, reply) {
      try {
        setHeaders(reply, await limiter.consume(key));
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
