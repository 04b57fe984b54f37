import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

/**
 * The floor: what the gateway's work costs when done by hand. A bare node:http server with a pg
 * Pool of the gateway's size, one SQL statement per request, no framework, no authentication, no
 * validation, no transaction.
 *
 * - `POST /records` with one REST-shaped record `{person_id, external_id, display_ts, fields}`, or
 *   `{records: [...]}` with many, inserts them with the gateway's own INSERT (src/records/record.queries.ts
 *   `insertRecords`: the same columns, unnest of arrays, ON CONFLICT DO NOTHING, RETURNING *) and
 *   answers 201 with the row(s).
 * - `GET /records?limit=100` reads a page of the read source joined with its source, person and
 *   company in one SELECT and answers the shape of the gateway's GraphQL read.
 *
 * run.ts forks this file, so that the floor's CPU time and memory are its own: it sends the options
 * in one message and gets `{ url }` back; SIGTERM (or the parent going away) stops it.
 */
export interface FloorOptions {
  databaseUrl: string;
  organizationId: number;
  /** Where POST /records inserts. */
  ingestSourceId: number;
  /** What GET /records reads. */
  readSourceId: number;
  poolSize?: number;
}

export interface Floor {
  url: string;
  server: http.Server;
  pool: pg.Pool;
  close(): Promise<void>;
}

interface RecordBody {
  person_id?: number | null;
  external_id?: string | null;
  display_ts?: string | null;
  fields: unknown;
}

const INSERT = `insert into "feedback_record" ("organization_id", "source_id", "person_id", "external_id", "display_ts", "fields", "created_at")
  select $1, $2, u."person_id", u."external_id", u."display_ts", u."fields", now()
  from unnest($3::bigint[], $4::text[], $5::timestamptz[], $6::jsonb[]) as u("person_id", "external_id", "display_ts", "fields")
  on conflict ("organization_id", "source_id", "external_id") do nothing
  returning *`;

const READ = `select r."id", r."display_ts", r."fields", s."name" as "source_name", p."email" as "person_email", c."name" as "company_name", p."id" as "person_id"
  from "feedback_record" r
  join "feedback_source" s on s."id" = r."source_id"
  left join "person" p on p."id" = r."person_id"
  left join "company" c on c."id" = p."company_id"
  where r."organization_id" = $1 and r."source_id" = $2
  order by r."display_ts" desc, r."id" desc
  limit $3`;

interface ReadRow {
  id: string;
  display_ts: Date;
  fields: { name: string; value: unknown }[];
  source_name: string;
  person_email: string | null;
  company_name: string | null;
  person_id: string | null;
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFloor(options: FloorOptions): Promise<Floor> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
  // An idle connection the server drops (PostgreSQL stopping at the end of the run) must not crash the process.
  pool.on('error', () => {});
  const { organizationId, ingestSourceId, readSourceId } = options;

  async function insert(records: RecordBody[]): Promise<unknown[]> {
    const now = new Date().toISOString();
    const { rows } = await pool.query(INSERT, [
      organizationId,
      ingestSourceId,
      records.map((record) => record.person_id ?? null),
      records.map((record) => record.external_id ?? null),
      records.map((record) => record.display_ts ?? now),
      records.map((record) => JSON.stringify(record.fields)),
    ]);
    return rows;
  }

  async function read(limit: number): Promise<unknown> {
    const { rows } = await pool.query<ReadRow>(READ, [organizationId, readSourceId, limit]);
    return {
      data: {
        records: {
          edges: rows.map((row) => ({
            node: {
              id: row.id,
              displayTs: row.display_ts,
              fields: row.fields.map((field) => ({ name: field.name, value: field.value })),
              source: { name: row.source_name },
              person: row.person_id === null ? null : { email: row.person_email, company: row.company_name === null ? null : { name: row.company_name } },
            },
          })),
        },
      },
    };
  }

  const server = http.createServer((request, response) => {
    const handle = async () => {
      const url = new URL(request.url ?? '/', 'http://floor');
      if (url.pathname !== '/records') return send(response, 404, { error: 'not found' });
      if (request.method === 'GET') return send(response, 200, await read(Math.min(Number(url.searchParams.get('limit') ?? 25), 100)));
      if (request.method !== 'POST') return send(response, 405, { error: 'method not allowed' });
      const body = JSON.parse(await readBody(request)) as RecordBody | { records: RecordBody[] };
      if ('records' in body) return send(response, 201, { results: await insert(body.records) });
      const [row] = await insert([body]);
      return row ? send(response, 201, row) : send(response, 409, { error: 'duplicate external_id' });
    };
    handle().catch((error: unknown) => send(response, 500, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    pool,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

if (import.meta.main) {
  process.once('message', (options: FloorOptions) => {
    startFloor(options).then(
      (floor) => {
        const stop = () => void floor.close().finally(() => process.exit(0));
        process.once('SIGTERM', stop);
        process.once('disconnect', stop);
        process.send?.({ url: floor.url });
      },
      (error: unknown) => process.send?.({ error: String(error) }, () => process.exit(1)),
    );
  });
}
