import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

// SPEC §2: the environment variables, their defaults, and one clear line naming an invalid one.

describe('loadConfig defaults', () => {
  it('listens on port 4000 by default', () => {
    expect(loadConfig({}).port).toBe(4000);
  });

  it('keeps the embedded database in ./.data, as an absolute path, by default', () => {
    const { dataDir } = loadConfig({});
    expect(path.isAbsolute(dataDir)).toBe(true);
    expect(dataDir).toBe(path.resolve('.data'));
  });

  it('uses http://localhost:4000 as the public URL by default', () => {
    expect(loadConfig({}).publicUrl).toBe('http://localhost:4000');
  });

  it('uses http://localhost:PORT as the public URL when only PORT is set', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
  });

  it('allows 100 requests per minute by default', () => {
    expect(loadConfig({}).rateLimitPerMinute).toBe(100);
  });

  it('keeps idempotent responses for 3600 seconds by default', () => {
    expect(loadConfig({}).idempotencyTtlSeconds).toBe(3600);
  });

  it('has no DATABASE_URL by default, so the embedded database is used', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
  });

  it('runs one server process by default', () => {
    expect(loadConfig({}).workers).toBe(1);
  });
});

describe('loadConfig with values', () => {
  it('removes the trailing slash of PUBLIC_URL', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://feedback.example.com/' }).publicUrl).toBe('https://feedback.example.com');
  });

  it('accepts RATE_LIMIT_PER_MINUTE=0, which disables rate limits', () => {
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '0' }).rateLimitPerMinute).toBe(0);
  });

  it('reads a postgres DATABASE_URL', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://feedback:secret@db.internal:5432/feedback' }).databaseUrl).toBe('postgres://feedback:secret@db.internal:5432/feedback');
  });

  it('reads PORT, RATE_LIMIT_PER_MINUTE and IDEMPOTENCY_TTL_SECONDS as numbers', () => {
    const config = loadConfig({ PORT: '8080', RATE_LIMIT_PER_MINUTE: '250', IDEMPOTENCY_TTL_SECONDS: '60' });
    expect({ port: config.port, rateLimitPerMinute: config.rateLimitPerMinute, idempotencyTtlSeconds: config.idempotencyTtlSeconds }).toEqual({ port: 8080, rateLimitPerMinute: 250, idempotencyTtlSeconds: 60 });
  });

  it('reads WORKERS as a number of server processes', () => {
    expect(loadConfig({ WORKERS: '4' }).workers).toBe(4);
  });

  it('reads WORKERS=auto as the number of cores this process may use', () => {
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(Math.min(os.availableParallelism(), 64));
  });
});

describe('loadConfig with an invalid variable', () => {
  const invalid: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['RATE_LIMIT_PER_MINUTE', '-1'],
    ['IDEMPOTENCY_TTL_SECONDS', '0'],
    ['LOG_LEVEL', 'loud'],
    ['CORS_ORIGINS', 'nope'],
    ['REDIS_URL', 'http://x'],
    ['WORKERS', '0'],
    ['WORKERS', '65'],
    ['WORKERS', 'all'],
  ];

  function configErrorOf(env: Record<string, string>): unknown {
    try {
      loadConfig(env);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it.each(invalid)('throws a ConfigError whose message is one line naming %s when it is %s', (variable, value) => {
    const error = configErrorOf({ [variable]: value });
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(variable);
    expect(message).not.toContain('\n');
  });

  it.each(invalid)('names only %s, not another variable, when it alone is invalid (%s)', (variable, value) => {
    const message = (configErrorOf({ [variable]: value }) as ConfigError | undefined)?.message ?? '';
    const others = invalid.map(([name]) => name).filter((name) => name !== variable);
    for (const other of others) expect(message).not.toContain(other);
  });
});

describe('starting the server with PORT=abc', () => {
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));
  let run: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    // The database URL points nowhere: a start-up that got past the configuration would fail differently.
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: 'abc', DATABASE_URL: 'postgres://feedback@127.0.0.1:1/unreachable', LOG_LEVEL: 'info' };
    run = await new Promise((resolve) => {
      execFile(process.execPath, ['src/main.ts'], { cwd: repoRoot, env, timeout: 15_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
  });

  it('exits with code 1', () => {
    expect(run.code).toBe(1);
  });

  it('writes one line naming PORT on stderr, and nothing else', () => {
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('PORT');
    expect(run.stdout).toBe('');
  });
});
