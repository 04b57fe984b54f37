import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorEnvelope, RestClient } from '../helpers/http.ts';
import { type ChildService, startServerProcess } from '../helpers/process-server.ts';
import { runRedisSuites, startRedis } from '../helpers/redis-server.ts';
import { openTestDatabase } from '../helpers/server.ts';

const LIMIT = 4;

let createToken: (organization: string) => Promise<string>;
/** The gateway's settings shared by every process: one database, a small limit. */
let env: Record<string, string>;
const closers: (() => Promise<void>)[] = [];

interface Answer {
  status: number;
  remaining: string | null;
  retryAfter: string | null;
  error?: ErrorEnvelope;
}

async function listSources(server: ChildService, token: string): Promise<Answer> {
  const response = await new RestClient(server.url, token).get<{ error?: ErrorEnvelope }>('/feedback-sources');
  return { status: response.status, remaining: response.headers.get('ratelimit-remaining'), retryAfter: response.headers.get('retry-after'), error: response.body.error };
}

/** Sends `count` requests with one token, alternating between the two processes, starting with `first`. */
async function alternate(pair: [ChildService, ChildService], token: string, count: number, first: 0 | 1 = 0): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await listSources((i + first) % 2 === 0 ? pair[0] : pair[1], token));
  return answers;
}

beforeAll(async () => {
  const database = await openTestDatabase();
  closers.push(() => database.orm.close());
  // An organization exists before the processes start, so none prints a first-start token.
  createToken = database.createToken;
  await createToken('Redis Corp');
  env = { DATABASE_URL: database.url, RATE_LIMIT_PER_MINUTE: String(LIMIT) };
});

afterAll(async () => {
  for (const close of closers) await close();
});

/** Two gateway processes with the same settings; every process that starts is stopped in afterAll, even when the other fails to start. */
async function startPair(pairEnv: Record<string, string>): Promise<[ChildService, ChildService]> {
  const tracked = async (starting: Promise<ChildService>) => {
    const service = await starting;
    closers.unshift(() => service.stop());
    return service;
  };
  const starting = [tracked(startServerProcess(pairEnv)), tracked(startServerProcess(pairEnv))] as const;
  await Promise.allSettled(starting);
  return await Promise.all(starting);
}

describe.runIf(runRedisSuites())('with REDIS_URL, two processes share one budget per token', () => {
  /** Two processes sharing one database and one Redis. */
  let shared: [ChildService, ChildService];

  beforeAll(async () => {
    const redis = await startRedis();
    closers.push(() => redis.stop());
    shared = await startPair({ ...env, REDIS_URL: redis.url });
  });

  it('count down one RateLimit-Remaining across both processes', async () => {
    const answers = await alternate(shared, await createToken('Redis Corp'), LIMIT);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(answers.map((answer) => answer.remaining)).toEqual(['3', '2', '1', '0']);
  });

  it('answer the 5th request overall with 429 RATE_LIMITED when the first process receives it', async () => {
    const answers = await alternate(shared, await createToken('Redis Corp'), LIMIT + 1, 0);
    const fifth = answers[LIMIT];
    expect(answers.slice(0, LIMIT).map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(fifth?.status).toBe(429);
    expect(fifth?.error).toMatchObject({ type: 'rate_limit_error', code: 'RATE_LIMITED', retryable: true });
    expect(fifth?.retryAfter).toBe(String(fifth?.error?.retry_after_seconds));
  });

  it('answer the 5th request overall with 429 RATE_LIMITED when the second process receives it', async () => {
    const answers = await alternate(shared, await createToken('Redis Corp'), LIMIT + 1, 1);
    const fifth = answers[LIMIT];
    expect(answers.slice(0, LIMIT).map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(fifth?.status).toBe(429);
    expect(fifth?.error).toMatchObject({ type: 'rate_limit_error', code: 'RATE_LIMITED', retryable: true });
  });

  it('keep the budget of another token apart', async () => {
    const spent = await createToken('Redis Corp');
    await alternate(shared, spent, LIMIT + 1);
    const answers = await alternate(shared, await createToken('Redis Corp'), 2);
    expect(answers.map((answer) => [answer.status, answer.remaining])).toEqual([
      [200, '3'],
      [200, '2'],
    ]);
  });
});

describe('without REDIS_URL, each process has its own budget', () => {
  /** Two processes sharing one database, without Redis. */
  let separate: [ChildService, ChildService];

  beforeAll(async () => {
    separate = await startPair(env);
  });

  it('answer 8 alternating requests of one token with 200: 4 on each process', async () => {
    const answers = await alternate(separate, await createToken('Redis Corp'), 2 * LIMIT);
    expect(answers.map((answer) => answer.status)).toEqual(Array(2 * LIMIT).fill(200));
    expect(answers.map((answer) => answer.remaining)).toEqual(['3', '3', '2', '2', '1', '1', '0', '0']);
  });

  it('answer the 9th with 429, once each process counted 4', async () => {
    const answers = await alternate(separate, await createToken('Redis Corp'), 2 * LIMIT + 1);
    expect(answers[2 * LIMIT]?.status).toBe(429);
  });
});
