import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREPARED_MARK } from '../../src/database/prepared-statements.ts';
import { RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { rows } from '../helpers/sql.ts';

// Issue #10: the hot statements are parsed once per connection and, once PostgreSQL settles on a
// generic plan, no longer planned per request; filters and searches, whose best plan depends on the
// values, stay unnamed. One pooled connection, so pg_prepared_statements (per session) shows what
// the requests' connection holds.

let server: TestServer;
let rest: RestClient;
let sourceId: number;

interface Prepared {
  statement: string;
  generic_plans: string;
  custom_plans: string;
}

const prepared = () => rows<Prepared>(server.orm, 'select "statement", "generic_plans", "custom_plans" from pg_prepared_statements');

beforeAll(async () => {
  server = await startTestServer({}, {}, { pool: { min: 1, max: 1 } });
  rest = new RestClient(server.url, await server.createToken('Prepared Corp'));
  const created = await rest.post<{ id: number }>('/feedback-sources', { name: 'NPS Survey' });
  expect(created.status).toBe(201);
  sourceId = created.body.id;
});

afterAll(() => server.close());

describe('statements sent by name', () => {
  it('plans a single-record ingest generically after five runs: later ingests are not planned again', async () => {
    for (let n = 0; n < 8; n++) {
      const response = await rest.post(`/feedback-sources/${sourceId}/records`, {
        external_id: `nps-${n}`,
        fields: [{ category: 'metadata', type: 'integer', name: 'nps_score', value: n }],
      });
      expect(response.status).toBe(201);
    }
    const ingest = (await prepared()).filter((row) => row.statement.startsWith(PREPARED_MARK) && row.statement.includes('insert into "feedback_record"'));
    expect(ingest).toHaveLength(1);
    expect(Number(ingest[0]?.custom_plans)).toBe(5);
    expect(Number(ingest[0]?.generic_plans)).toBe(3);
  });

  it('keeps filtered and searched listings unnamed, so each is planned for its own values', async () => {
    for (let n = 0; n < 4; n++) {
      const filtered = await rest.get(`/feedback-sources/${sourceId}/records?field[nps_score][lt]=${n + 1}&q=great`);
      expect(filtered.status).toBe(200);
    }
    const statements = (await prepared()).map((row) => row.statement);
    expect(statements.filter((text) => text.includes('websearch_to_tsquery') || text.includes('"fields" @>'))).toEqual([]);
    expect(statements.every((text) => text.startsWith(PREPARED_MARK))).toBe(true);
  });
});
