import { expect } from 'vitest';
import type { IdSlot, Table } from './fuzz-shapes.ts';
import { type HttpReply, send as sendHttp } from './http.ts';
import { startTestServer, type TestServer } from './server.ts';

/** The tables a rejected request must leave exactly as they were. */
export const WATCHED_TABLES = ['feedback_source', 'person', 'company', 'feedback_record', 'idempotency_key'] as const;

export type DatabaseDigest = Record<(typeof WATCHED_TABLES)[number], { rows: number; md5: string }>;

interface Organization {
  id: number;
  token: string;
}

/**
 * A server with two organizations, each with a source, a person and a record to aim at, and the
 * means to name their rows when a request is sent. "own" rows belong to the token the fuzzer uses.
 */
export interface FuzzWorld {
  server: TestServer;
  token: string;
  /** An existing id of the table for the slot's owner (seeding one if the run deleted them all), or one that never existed. */
  resolveId(slot: IdSlot, context?: { sourceId?: number }): Promise<number>;
  /** Row counts and a checksum of every row of the watched tables. */
  digest(): Promise<DatabaseDigest>;
  close(): Promise<void>;
}

/** An id no row has: bigserial never gets this far in a test database. */
export const NEVER_ISSUED_ID = 2 ** 40;

async function sql<Row>(server: TestServer, text: string, params: unknown[] = []): Promise<Row[]> {
  return await server.orm.em.fork().getConnection().execute<Row[]>(text, params);
}

async function post(server: TestServer, token: string, method: string, path: string, body: unknown): Promise<number> {
  const reply = await sendHttp(server.url, { method, path: `/v3/rest${path}`, headers: { 'x-api-token': token }, json: body });
  expect(reply.status, `seeding ${method} ${path}: ${reply.text}`).toBeLessThan(300);
  return (JSON.parse(reply.text) as { id: number }).id;
}

export async function startFuzzWorld(): Promise<FuzzWorld> {
  const server = await startTestServer();
  let seeded = 0;
  const organizations = {} as Record<'own' | 'foreign', Organization>;
  for (const [owner, name] of [
    ['own', 'Fuzz Corp'],
    ['foreign', 'Other Corp'],
  ] as const) {
    const token = await server.createToken(name);
    const [row] = await sql<{ id: string }>(server, 'select id from organization where name = ?', [name]);
    organizations[owner] = { id: Number(row?.id), token };
  }

  const seed = {
    feedback_source: (org: Organization) => post(server, org.token, 'POST', '/feedback-sources', { name: `Seeded source ${++seeded}`, type: 'support_tickets' }),
    person: (org: Organization) => post(server, org.token, 'PUT', '/people', { email: `seeded.${++seeded}@fuzz.example`, company: { name: 'Northwind Traders', domain: 'northwind.example' } }),
    feedback_record: async (org: Organization, sourceId?: number) => {
      const source = sourceId ?? (await seed.feedback_source(org));
      return await post(server, org.token, 'POST', `/feedback-sources/${source}/records`, {
        external_id: `seeded-${++seeded}`,
        fields: [{ category: 'content', type: 'string', name: 'subject', value: 'Seeded' }],
      });
    },
  };
  for (const org of Object.values(organizations)) await seed.feedback_record(org, await seed.feedback_source(org));
  for (const org of Object.values(organizations)) await seed.person(org);

  async function existing(table: Table, org: Organization, pick: number, sourceId?: number): Promise<number | null> {
    const bySource = table === 'feedback_record' && sourceId !== undefined;
    const where = `organization_id = ?${bySource ? ' and source_id = ?' : ''}`;
    const params = bySource ? [org.id, sourceId] : [org.id];
    const rows = await sql<{ id: string }>(server, `select id from ${table} where ${where} order by id offset (?::int % greatest((select count(*) from ${table} where ${where}), 1)) limit 1`, [
      ...params,
      pick,
      ...params,
    ]);
    return rows[0] ? Number(rows[0].id) : null;
  }

  return {
    server,
    token: organizations.own.token,
    async resolveId(slot, context = {}) {
      if (slot.owner === 'missing' || slot.table === null) return NEVER_ISSUED_ID + slot.pick;
      const org = organizations[slot.owner];
      // A record of the source named in the same path when there is one, so deletes can succeed.
      const found = (await existing(slot.table, org, slot.pick, context.sourceId)) ?? (await existing(slot.table, org, slot.pick));
      if (found !== null) return found;
      if (slot.table === 'feedback_record') {
        const sources = await sql<{ id: string }>(server, 'select id from feedback_source where organization_id = ? order by id limit 1', [org.id]);
        return await seed.feedback_record(org, sources[0] ? Number(sources[0].id) : undefined);
      }
      return await seed[slot.table](org);
    },
    async digest() {
      const rows = await sql<{ name: (typeof WATCHED_TABLES)[number]; rows: number; md5: string }>(
        server,
        WATCHED_TABLES.map((table) => `select '${table}' as name, count(*)::int as rows, md5(coalesce(string_agg(t::text, '|' order by t.id), '')) as md5 from ${table} t`).join(' union all '),
      );
      return Object.fromEntries(rows.map(({ name, ...state }) => [name, state])) as DatabaseDigest;
    },
    close: () => server.close(),
  };
}

/** Percent-encodes every byte of the text's UTF-8 (a lone surrogate becomes U+FFFD's bytes, as any client would send). */
export function encodeSegment(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

export interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export async function send(world: FuzzWorld, request: SentRequest): Promise<HttpReply> {
  return await sendHttp(world.server.url, { method: request.method, path: request.path, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) });
}

/** The request and its answer, shortened, for the message of a failed property. */
export function describeExchange(request: SentRequest, reply: HttpReply): string {
  const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text);
  const headers = Object.entries(request.headers)
    .filter(([name]) => name !== 'x-api-token')
    .map(([name, value]) => `${name}: ${cut(value, 80)}`)
    .join('; ');
  return `${request.method} ${cut(request.path, 300)} [${headers}]\n  body: ${request.body === undefined ? '(none)' : cut(JSON.stringify(request.body), 600)}\n  → ${reply.status} ${cut(reply.text, 800)}`;
}
