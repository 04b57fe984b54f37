import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// SPEC §2: `npm run keys -- create|list|revoke`, run here as the real program against the test server's database.

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const allScopes = ['sources:read', 'sources:write', 'people:read', 'people:write', 'records:read', 'records:write', 'webhooks:read', 'webhooks:write'];
const DAY_MS = 86_400_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface CreatedKey {
  id: number;
  token: string;
  organization: { id: number; name: string };
  scopes: string[];
  expires_at: string | null;
}

interface ListedKey {
  id: number;
  organization: { id: number; name: string };
  scopes: string[];
}

let server: TestServer;
let databaseUrl: string;

function keys(...args: string[]): Promise<Run> {
  return keysWith({ DATABASE_URL: databaseUrl }, ...args);
}

function keysWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['src/organizations/keys.cli.ts', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

async function create(...args: string[]): Promise<CreatedKey> {
  const run = await keys('create', '--json', ...args);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim());
}

const viewerQuery = '{ viewer { apiKeyId organization { id name } scopes } }';

beforeAll(async () => {
  server = await startTestServer();
  databaseUrl = String(server.orm.config.get('clientUrl'));
});

afterAll(() => server.close());

describe('keys create', () => {
  it('prints exactly one JSON object with id, token, organization, scopes and expires_at when given --json', async () => {
    const run = await keys('create', '--org', 'acme', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    const created = JSON.parse(run.stdout.trim());
    expect(Object.keys(created).sort()).toEqual(['expires_at', 'id', 'organization', 'scopes', 'token']);
    expect(Object.keys(created.organization).sort()).toEqual(['id', 'name']);
    expect(created).toEqual({
      id: expect.any(Number),
      token: expect.any(String),
      organization: { id: expect.any(Number), name: 'acme' },
      scopes: expect.any(Array),
      expires_at: null,
    });
  });

  it('gives the key every scope when --scopes is not given', async () => {
    const created = await create('--org', 'all-scopes');
    expect([...created.scopes].sort()).toEqual([...allScopes].sort());
  });

  it('limits the key to the scopes given in --scopes', async () => {
    const created = await create('--org', 'limited', '--scopes', 'sources:read,records:read');
    expect([...created.scopes].sort()).toEqual(['records:read', 'sources:read']);
  });

  it('gives a token that the server accepts with exactly the scopes given', async () => {
    const created = await create('--org', 'limited-viewer', '--scopes', 'sources:read,records:read');
    const response = await server.graphql<{ viewer: { apiKeyId: string; organization: { id: string; name: string }; scopes: string[] } }>(viewerQuery, {}, created.token);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer.apiKeyId).toBe(String(created.id));
    expect([...(response.body.data?.viewer.scopes ?? [])].sort()).toEqual(['records:read', 'sources:read']);
  });

  it('sets expires_at to 30 days from now with --expires-in 30d', async () => {
    const before = Date.now();
    const created = await create('--org', 'expiring', '--expires-in', '30d');
    const after = Date.now();
    expect(created.expires_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    const expiresAt = Date.parse(created.expires_at ?? '');
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY_MS);
    expect(expiresAt).toBeLessThanOrEqual(after + 30 * DAY_MS);
  });

  it('reuses the organization when --org names one that exists', async () => {
    const first = await create('--org', 'reused');
    const second = await create('--org', 'reused');
    expect(second.organization).toEqual(first.organization);
    expect(second.id).not.toBe(first.id);
    expect(second.token).not.toBe(first.token);
  });

  it('gives a token that authenticates against a server on the same database as the organization named', async () => {
    const created = await create('--org', 'served');
    const response = await server.graphql<{ viewer: { apiKeyId: string; organization: { id: string; name: string }; scopes: string[] } }>(viewerQuery, {}, created.token);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer).toEqual({
      apiKeyId: String(created.id),
      organization: { id: String(created.organization.id), name: 'served' },
      scopes: expect.arrayContaining(allScopes),
    });
  });

  it('stores only a hash of the token, never the token itself', async () => {
    const created = await create('--org', 'hashed');
    const rows = await server.orm.em.fork().getConnection().execute<Record<string, unknown>[]>('select * from api_key where id = ?', [created.id]);
    expect(rows).toHaveLength(1);
    const secret = created.token.replace(/^[a-z]+_/, '');
    for (const value of Object.values(rows[0] ?? {})) {
      expect(JSON.stringify(value) ?? '').not.toContain(secret);
    }
  });

  it('exits non-zero and names the scope on stderr when --scopes has an unknown scope', async () => {
    const run = await keys('create', '--org', 'typo', '--scopes', 'sources:read,records:delete', '--json');
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('records:delete');
  });

  it('creates no key when --scopes has an unknown scope', async () => {
    await keys('create', '--org', 'typo-nothing', '--scopes', 'records:delete', '--json');
    const listed = await keys('list', '--org', 'typo-nothing', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout.trim())).toEqual([]);
  });

  it('exits non-zero with a message naming --expires-in when it is not a duration', async () => {
    const run = await keys('create', '--org', 'bad-duration', '--expires-in', 'next-week', '--json');
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('--expires-in');
  });

  it('exits non-zero when --org is missing', async () => {
    const run = await keys('create', '--json');
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('--org');
  });
});

describe('keys list', () => {
  it('lists the keys of the organization given in --org, and only those, as JSON', async () => {
    const first = await create('--org', 'listed');
    const second = await create('--org', 'listed', '--scopes', 'people:read');
    await create('--org', 'not-listed');
    const run = await keys('list', '--org', 'listed', '--json');
    expect(run.code, run.stderr).toBe(0);
    const listed: ListedKey[] = JSON.parse(run.stdout.trim());
    expect(listed.map((key) => key.id).sort((x, y) => x - y)).toEqual([first.id, second.id].sort((x, y) => x - y));
    expect(listed.map((key) => key.organization)).toEqual([first.organization, first.organization]);
    expect(listed.find((key) => key.id === second.id)?.scopes).toEqual(['people:read']);
  });

  it('never prints a token', async () => {
    const created = await create('--org', 'listed-secret');
    const run = await keys('list', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain(created.token);
  });

  it('lists the keys of every organization without --org', async () => {
    const first = await create('--org', 'everyone-1');
    const second = await create('--org', 'everyone-2');
    const run = await keys('list', '--json');
    expect(run.code, run.stderr).toBe(0);
    const listed: ListedKey[] = JSON.parse(run.stdout.trim());
    expect(listed.map((key) => key.id)).toEqual(expect.arrayContaining([first.id, second.id]));
  });
});

describe('keys revoke', () => {
  it('makes the server answer 401 API_TOKEN_REVOKED to the revoked token over /graphql', async () => {
    const created = await create('--org', 'revoked');
    const before = await server.graphql(viewerQuery, {}, created.token);
    expect(before.status).toBe(200);

    const run = await keys('revoke', String(created.id));
    expect(run.code, run.stderr).toBe(0);

    const after = await server.graphql(viewerQuery, {}, created.token);
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.extensions).toMatchObject({ type: 'authentication_error', code: 'API_TOKEN_REVOKED', retryable: false });
  });

  it('leaves the other keys of the organization working', async () => {
    const revoked = await create('--org', 'half-revoked');
    const kept = await create('--org', 'half-revoked');
    const run = await keys('revoke', String(revoked.id));
    expect(run.code, run.stderr).toBe(0);
    const response = await server.graphql(viewerQuery, {}, kept.token);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
  });

  it('exits non-zero when no key has the id', async () => {
    const run = await keys('revoke', '987654321');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('987654321');
  });
});

describe('keys without a command', () => {
  it('prints the usage on stderr and exits non-zero', async () => {
    const run = await keys();
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/usage/i);
    for (const command of ['create', 'list', 'revoke']) expect(run.stderr).toContain(command);
  });

  it('prints the usage without opening the database, so it works when the database is unreachable', async () => {
    const run = await keysWith({ DATABASE_URL: 'postgres://feedback@127.0.0.1:1/unreachable' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/^Usage:/);
    expect(run.stderr).not.toContain('ECONNREFUSED');
  });

  it('prints the usage on stderr and exits non-zero for an unknown command', async () => {
    const run = await keys('rotate');
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('rotate');
    expect(run.stderr).toMatch(/usage/i);
  });
});
