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
  LOG_LEVEL: z.enum(logLevels, { error: `must be one of ${logLevels.join(', ')}` }).default('info'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isOrigin, 'must be * or a comma-separated list of http(s) origins'))),
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
  logLevel: (typeof logLevels)[number];
  corsOrigins: string[];
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
    logLevel: values.LOG_LEVEL,
    corsOrigins: values.CORS_ORIGINS,
  };
}
