import { afterAll, beforeAll, expect, it } from 'vitest';
import { query, sql } from '../../src/database/sql.ts';
import { purgeExpiredKeys } from '../../src/idempotency/idempotency.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.createToken('Purge Corp');
});

afterAll(() => server?.close());

it('purges a backlog of expired keys larger than one batch, and keeps the live ones', async () => {
  const em = server.orm.em.fork();
  const [organization] = await query(em, sql<{ id: string }>`select "id" from "organization" where "name" = 'Purge Corp'`);
  await query(
    em,
    sql`insert into "idempotency_key" ("organization_id", "key", "method", "path", "request_hash", "status", "content_type", "response_body", "created_at", "expires_at")
      select ${organization?.id}, 'key-' || n, 'POST', '/v3/rest/feedback-sources', repeat('0', 64), 201, 'application/json', '{}', now() - interval '2 hours',
        case when n <= 12000 then now() - interval '1 hour' else now() + interval '1 hour' end
      from generate_series(1, 12003) as n`,
  );
  expect(await purgeExpiredKeys(em)).toBe(12_000);
  const [left] = await query(em, sql<{ count: string }>`select count(*) as "count" from "idempotency_key"`);
  expect(Number(left?.count)).toBe(3);
});
