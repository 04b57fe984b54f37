import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Scope, scopes } from '../../src/organizations/scopes.ts';
import type { RestRoute } from '../../src/rest/route.ts';
import { restRoutes } from '../../src/rest/routes.ts';
import { expectErrorEnvelope, type HttpReply, RestClient } from '../helpers/http.ts';
import { textRecord } from '../helpers/resources.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { organizationSnapshot, rowCounts, rows } from '../helpers/sql.ts';

// SPEC §3 for every REST route, swept from the route table, where each route declares the one scope
// it needs: without a token the answer is 401 API_TOKEN_MISSING; with every scope but the declared
// one, 403 INSUFFICIENT_SCOPE naming it; with only the declared one, a success. A refused request
// writes nothing. A new route fails here until `requests` says how to call it.

const ORGANIZATION = 'Sweep Corp';

let server: TestServer;
let admin: RestClient;
let organizationId: string;
const world = { source: 0, person: 0, record: 0, email: 'swept.person@example.com', webhook: 0, webhookEvent: '' };
let counter = 0;

/** One request to a route: its path parameters, query and JSON body. */
interface Call {
  params?: Record<string, number | string>;
  query?: Record<string, string>;
  json?: unknown;
}

/**
 * A request each route accepts, by operationId. A refused request aims at the seeded rows, so that
 * it would change them if it ran; an accepted delete gets a row of its own.
 */
const requests: Record<string, (use: 'refused' | 'accepted') => Promise<Call>> = {
  createFeedbackSource: async () => ({ json: { name: `Swept source ${++counter}`, type: 'survey' } }),
  listFeedbackSources: async () => ({ query: { limit: '5' } }),
  getFeedbackSource: async () => ({ params: { id: world.source } }),
  updateFeedbackSource: async () => ({ params: { id: world.source }, json: { name: `Renamed source ${++counter}`, description: 'Changed' } }),
  deleteFeedbackSource: async (use) => ({
    params: { id: use === 'accepted' ? (await admin.createSource({ name: `Deleted source ${++counter}` })).id : world.source },
    query: { cascade: 'true' },
  }),
  upsertPerson: async () => ({ json: { email: world.email, first_name: `Changed ${++counter}` } }),
  listPeople: async () => ({ query: { email: world.email } }),
  getPerson: async () => ({ params: { id: world.person } }),
  deletePerson: async (use) => ({ params: { id: use === 'accepted' ? (await admin.upsertPerson({ email: `deleted.${++counter}@example.com` })).id : world.person } }),
  ingestRecord: async () => ({ params: { id: world.source }, json: textRecord(`Swept record ${++counter}`, { person_id: world.person }) }),
  ingestRecords: async () => ({ params: { id: world.source }, json: { records: [textRecord(`Swept batch record ${++counter}`, { person_id: world.person })] } }),
  listRecords: async () => ({ params: { id: world.source }, query: { person_id: String(world.person) } }),
  listAllRecords: async () => ({ query: { 'field[nps][lt]': '7', include_total: 'true' } }),
  getRecordStats: async () => ({ query: { period: 'week', time_zone: 'Europe/Berlin' } }),
  getRecord: async () => ({ params: { id: world.source, record_id: world.record } }),
  deleteRecord: async (use) => ({
    params: { id: world.source, record_id: use === 'accepted' ? (await admin.ingest(world.source, textRecord('To delete'))).id : world.record },
  }),
  // Endpoints here only hear of disabled endpoints, which never happens in this file: nothing is delivered.
  createWebhookEndpoint: async () => ({ json: { url: SWEPT_WEBHOOK_URL, event_types: ['webhook_endpoint.disabled'] } }),
  listWebhookEndpoints: async () => ({ query: { limit: '5' } }),
  getWebhookEndpoint: async () => ({ params: { id: world.webhook } }),
  updateWebhookEndpoint: async () => ({ params: { id: world.webhook }, json: { event_types: ['webhook_endpoint.disabled'], enabled: false } }),
  deleteWebhookEndpoint: async (use) => ({ params: { id: use === 'accepted' ? await newWebhook() : world.webhook } }),
  rotateWebhookEndpointSecret: async () => ({ params: { id: world.webhook } }),
  listWebhookEvents: async () => ({ params: { id: world.webhook } }),
  replayWebhookEvent: async () => ({ params: { id: world.webhook, event_id: world.webhookEvent } }),
};

const SWEPT_WEBHOOK_URL = 'https://93.184.215.14/swept';

async function newWebhook(): Promise<number> {
  const reply = await admin.post<{ id: number }>('/webhooks', { url: SWEPT_WEBHOOK_URL, event_types: ['webhook_endpoint.disabled'] });
  expect(reply.status, reply.text).toBe(201);
  return reply.body.id;
}

async function call(route: RestRoute, use: 'refused' | 'accepted', token: string | null): Promise<HttpReply> {
  const request = requests[route.operationId];
  if (!request) throw new Error(`no request for ${route.operationId}: add it to requests`);
  const { params = {}, query, json } = await request(use);
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const id = params[name];
    if (id === undefined) throw new Error(`the request for ${route.operationId} has no {${name}}`);
    return String(id);
  });
  return await admin.send(route.method, path, { token, json, ...(query === undefined ? {} : { query }) });
}

/** Every row of the organization, and how many rows each table holds. */
async function databaseState() {
  return { rows: await organizationSnapshot(server.orm, organizationId), counts: await rowCounts(server.orm) };
}

/** Sends a request that must be refused, and asserts that the database is exactly as before. */
async function refused(route: RestRoute, token: string | null): Promise<HttpReply> {
  const before = await databaseState();
  const reply = await call(route, 'refused', token);
  expect(await databaseState()).toEqual(before);
  return reply;
}

function tokenWith(granted: readonly Scope[]): Promise<string> {
  return server.createToken(ORGANIZATION, { scopes: granted });
}

beforeAll(async () => {
  server = await startTestServer();
  admin = new RestClient(server.url, await server.createToken(ORGANIZATION));
  const [organization] = await rows<{ id: string }>(server.orm, 'select "id" from "organization" where "name" = ?', [ORGANIZATION]);
  organizationId = String(organization?.id);
  world.source = (await admin.createSource({ name: 'Guarded source' })).id;
  world.person = (await admin.upsertPerson({ email: world.email, first_name: 'Guarded' })).id;
  world.record = (await admin.ingest(world.source, textRecord('Guarded record', { person_id: world.person }))).id;
  world.webhook = await newWebhook();
  // An event to replay, as the outbox holds them; its endpoint is disabled, so nothing delivers it.
  world.webhookEvent = 'msg_5a0c1f2e3d4b5a69788796a5b4c3d2e1';
  await rows(server.orm, `update "webhook_endpoint" set "enabled" = false where "id" = ?`, [world.webhook]);
  await rows(
    server.orm,
    `insert into "webhook_event" ("id", "organization_id", "endpoint_id", "type", "payload", "created_at", "next_attempt_at", "status", "attempts")
      values (?, ?, ?, 'webhook_endpoint.disabled', '{}', now(), null, 'delivered', 1)`,
    [world.webhookEvent, organizationId, world.webhook],
  );
});

afterAll(() => server.close());

it('has a request for every route of the table, and a route for every request', () => {
  expect(restRoutes.map((route) => route.operationId).sort()).toEqual(Object.keys(requests).sort());
});

describe.each(restRoutes.map((route) => ({ route, key: `${route.method} ${route.path}`, scope: route.scope })))('$key, which declares $scope', ({ route, scope }) => {
  it('answers 401 API_TOKEN_MISSING without a token, and writes nothing', async () => {
    const reply = await refused(route, null);
    expectErrorEnvelope(reply, { status: 401, type: 'authentication_error', code: 'API_TOKEN_MISSING', param: null });
  });

  it(`answers 403 INSUFFICIENT_SCOPE naming ${scope} to a token with every other scope, and writes nothing`, async () => {
    const token = await tokenWith(scopes.filter((other) => other !== scope));
    const reply = await refused(route, token);
    expectErrorEnvelope(reply, { status: 403, type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: scope });
  });

  it(`answers a success to a token with only ${scope}`, async () => {
    const reply = await call(route, 'accepted', await tokenWith([scope]));
    expect(Object.keys(route.responses).map(Number), reply.text).toContain(reply.status);
  });
});
