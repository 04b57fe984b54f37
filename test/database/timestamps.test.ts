import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, readTimestamp, sql } from '../../src/database/sql.ts';
import { RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Timestamps are read from PostgreSQL's text by a parser of its usual form (sql.ts readTimestamp),
// with MikroORM's for anything else: both must give the same instant for every text PostgreSQL writes.

let server: TestServer;
let rest: RestClient;

beforeAll(async () => {
  server = await startTestServer();
  rest = new RestClient(server.url, await server.createToken('Timestamps Corp'));
});

afterAll(() => server.close());

describe('timestamps read from PostgreSQL', () => {
  it('reads every text PostgreSQL writes as the general parser does: years 1 to 9999, 0 to 6 fractional digits', async () => {
    const em = server.orm.em.fork();
    // 2,000 instants spread over the storable years, their fractions written with 0 to 6 digits.
    const instants = await query(
      em,
      sql<{ at: string }>`select (timestamptz '0001-01-01 00:00:00+00' + n * interval '1826 days 7 hours 13 minutes 9 seconds' + (array[0, 100000, 120000, 123000, 123400, 123450, 123456])[n % 7 + 1] * interval '1 microsecond') as "at"
        from generate_series(0, 1999) as n`,
    );
    expect(instants).toHaveLength(2000);
    const fractions = new Set(instants.map(({ at }) => /\.(\d+)\+/.exec(at)?.[1]?.length ?? 0));
    expect([...fractions].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const { at } of instants) {
      expect(typeof at).toBe('string');
      expect(readTimestamp(em, at).toISOString(), at).toBe(em.getPlatform().parseDate(at).toISOString());
    }
  });

  it('reads another session time zone\'s text through the general parser', async () => {
    const em = server.orm.em.fork();
    const [row] = await em.transactional(async (tx) => {
      await query(tx, sql`set local time zone 'Asia/Kolkata'`);
      return query(tx, sql<{ at: string }>`select timestamptz '2025-03-14 09:26:53.5+00' as "at"`);
    });
    expect(row?.at).toBe('2025-03-14 14:56:53.5+05:30');
    expect(readTimestamp(em, row?.at ?? '').toISOString()).toBe('2025-03-14T09:26:53.500Z');
  });

  it('answers the display_ts a record was sent with, at the edges of the storable years', async () => {
    const source = await rest.post<{ id: number }>('/feedback-sources', { name: 'Edges' });
    expect(source.status).toBe(201);
    const sent = ['0001-01-01T00:00:00.000Z', '0044-03-15T12:00:00.100Z', '0999-12-31T23:59:59.990Z', '2025-03-14T09:26:53.123Z', '9999-12-31T23:59:59.999Z'];
    for (const [index, displayTs] of sent.entries()) {
      const created = await rest.post<{ id: number; display_ts: string }>(`/feedback-sources/${source.body.id}/records`, {
        external_id: `edge-${index}`,
        display_ts: displayTs,
        fields: [{ category: 'content', type: 'string', name: 'text', value: 'edge' }],
      });
      expect(created.status).toBe(201);
      expect(created.body.display_ts).toBe(displayTs);
      const read = await rest.get<{ display_ts: string }>(`/feedback-sources/${source.body.id}/records/${created.body.id}`);
      expect(read.status).toBe(200);
      expect(read.body.display_ts).toBe(displayTs);
    }
  });
});
