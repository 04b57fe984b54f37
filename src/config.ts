import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be an integer between ${min} and ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const url = (protocols: string[]) =>
  z.url({ protocol: new RegExp(`^(${protocols.join('|')})$`), error: `must be a ${protocols[0]}:// URL` });

function isOrigin(value: string): boolean {
  if (value === '*') return true;
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

/** More server processes than this would mostly compete for the same database connections. */
export const MAX_WORKERS = 64;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const schema = z.object({
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  PORT: integer(0, 65535).default(4000),
  HOST: z.string().min(1).default('localhost'),
  DATA_DIR: z.string().min(1).default('./.data'),
  PUBLIC_URL: url(['https', 'http']).optional(),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  RATE_LIMIT_PER_MINUTE: integer(0, 1_000_000).default(100),
  IDEMPOTENCY_TTL_SECONDS: integer(1, 31 * 24 * 3600).default(3600),
  // Unset: derived from the database pool (src/http/admission.ts); 0 admits every request.
  MAX_CONCURRENT_REQUESTS: integer(0, 100_000).optional(),
  LOG_LEVEL: z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }).default('info'),
  WORKERS: z
    .string()
    .regex(/^(auto|\d+)$/, `must be auto or an integer between 1 and ${MAX_WORKERS}`)
    .transform((value) => (value === 'auto' ? Math.min(os.availableParallelism(), MAX_WORKERS) : Number(value)))
    .pipe(z.number().int().min(1, 'must be at least 1').max(MAX_WORKERS, `must be at most ${MAX_WORKERS}`))
    .default(1),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isOrigin, 'must be * or a comma-separated list of http(s) origins'))),
  // Development and tests only: webhooks to http:// and to loopback or private addresses.
  WEBHOOK_ALLOW_PRIVATE_URLS: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false').transform((value) => value === 'true'),
});

export interface Config {
  databaseUrl: string | undefined;
  port: number;
  host: string;
  dataDir: string;
  publicUrl: string;
  redisUrl: string | undefined;
  rateLimitPerMinute: number;
  idempotencyTtlSeconds: number;
  /** API requests one process runs at once before it sheds more with 503; undefined: derived from the pool; 0: no limit. */
  maxConcurrentRequests: number | undefined;
  logLevel: (typeof logLevels)[number];
  corsOrigins: string[];
  /** Server processes sharing the port (node:cluster); 1 runs the server in this process alone. */
  workers: number;
  /** Webhook URLs may be http:// and reach loopback and private addresses (development only). */
  webhookAllowPrivateUrls: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment once; the first invalid variable is named in one line. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty variables count as unset, as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    // A connection URL may hold a password; the message must not print it.
    const got = present[variable]?.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
    throw new ConfigError(`Invalid configuration: ${variable} ${issue?.message ?? 'is invalid'}${got === undefined ? '' : ` (got "${got}")`}.`);
  }
  const values = parsed.data;
  return {
    databaseUrl: values.DATABASE_URL,
    port: values.PORT,
    host: values.HOST,
    dataDir: path.resolve(values.DATA_DIR),
    publicUrl: (values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).replace(/\/+$/, ''),
    redisUrl: values.REDIS_URL,
    rateLimitPerMinute: values.RATE_LIMIT_PER_MINUTE,
    idempotencyTtlSeconds: values.IDEMPOTENCY_TTL_SECONDS,
    maxConcurrentRequests: values.MAX_CONCURRENT_REQUESTS,
    logLevel: values.LOG_LEVEL,
    corsOrigins: values.CORS_ORIGINS,
    workers: values.WORKERS,
    webhookAllowPrivateUrls: values.WEBHOOK_ALLOW_PRIVATE_URLS,
  };
}
