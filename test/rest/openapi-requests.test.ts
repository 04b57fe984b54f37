import { createGeneratorSync, type JsonSchema } from 'json-schema-faker';
import { type CountryCode, getExampleNumber } from 'libphonenumber-js';
import examples from 'libphonenumber-js/mobile/examples';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT } from '../../src/http/limits.ts';
import { MAX_EXTERNAL_ID_LENGTH } from '../../src/records/record.rules.ts';
import { MAX_NAME_LENGTH, MAX_VALUE_BYTES } from '../../src/records/record-fields.ts';
import { openApiDocument } from '../../src/rest/openapi.ts';
import { REST_PREFIX } from '../../src/rest/register.ts';
import { restRoutes } from '../../src/rest/routes.ts';
import { MAX_SOURCE_NAME_LENGTH } from '../../src/sources/source.rules.ts';
import { scopes } from '../../src/organizations/scopes.ts';
import { DocumentValidator, HTTP_METHODS, type OpenApiDocument, type OperationObject, operationKey, operationsOf } from '../helpers/openapi-conformance.ts';
import { type HttpReply, PUBLIC_URL, send as sendHttp } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// SPEC §6 Meta and issue #9: a client or fuzzer driven by the OpenAPI document sends only requests
// the server accepts. Requests are drawn from the document's own schemas (path and query parameters,
// headers, bodies) by json-schema-faker with a fixed seed, sent to a real server with a token that
// has exactly the scope the operation declares, and every one must be answered 2xx.
//
// What a schema cannot say, the generator respects on its own, and says so here:
// - ids and cursors must name things that exist: they come from a seeded world, and each delete gets
//   a fresh resource;
// - names that must be unique (sources, field names in a record, record external_ids, emails of new
//   people, Idempotency-Keys) get a unique suffix or prefix;
// - a phone number must also be a possible number of its country (libphonenumber): it is drawn from
//   libphonenumber's example numbers;
// - a field value's JSON text is at most MAX_VALUE_BYTES and a body at most BODY_LIMIT bytes, and no
//   text holds U+0000 or an unpaired surrogate: draws that break one are drawn again.
// Every request sent is first checked against the document itself, so the adjustments never take a
// request outside what the document describes.

const SEED = 20_261_203;
const RUNS = Number(process.env.OPENAPI_RUNS ?? 12);

interface Request {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: unknown;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  style?: string;
  schema: JsonSchema;
}

type Body = Record<string, unknown>;

let server: TestServer;
let doc: OpenApiDocument;
let validator: DocumentValidator;
/** A token for each scope, all of one organization: a request carries only the scope its operation declares. */
const tokens = new Map<string, string>();
let adminToken: string;
const generate = createGeneratorSync({
  seed: SEED,
  refResolver: (ref) => pointer(ref),
});
let counter = 0;
const world = { source: 0, person: 0, record: 0, webhook: 0, webhookEvent: '', cursors: new Map<string, string>() };

/**
 * A public address as a literal (a drawn URL would name hosts that do not resolve): the document
 * cannot say that a URL must resolve to a public address. Its endpoints only hear of disabled
 * endpoints, so nothing is delivered.
 */
const WEBHOOK_URL = 'https://93.184.215.14/hooks';

/** The node of the document a local `$ref` names. */
function pointer(ref: string): JsonSchema {
  const node = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((parent, key) => (typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
  if (typeof node !== 'object' || node === null) throw new Error(`${ref} does not resolve in the document`);
  return node as JsonSchema;
}

function send(request: Request): Promise<HttpReply> {
  return sendHttp(server.url, { method: request.method, path: request.path, query: request.query, headers: request.headers, json: request.body });
}

/** Creates a resource with the all-scopes token and returns its id. */
async function create(path: string, body: unknown, method = 'POST'): Promise<number> {
  const reply = await send({ method, path: `${REST_PREFIX}${path}`, query: {}, headers: { 'x-api-token': adminToken }, body });
  if (reply.status !== 201) throw new Error(`seeding ${method} ${path} answered ${reply.status}: ${reply.text}`);
  return (JSON.parse(reply.text) as { id: number }).id;
}

const textField = (value: string) => ({ category: 'content', type: 'string', name: 'text', value });

/** `text` with `suffix` at its end, within `max` characters. */
function withSuffix(text: string, suffix: string, max: number): string {
  return [...text].slice(0, max - [...suffix].length).join('') + suffix;
}

/** Path ids must exist; a delete gets a fresh resource every time. */
const pathIds: Record<string, () => Promise<Record<string, number | string>>> = {
  getFeedbackSource: async () => ({ id: world.source }),
  updateFeedbackSource: async () => ({ id: world.source }),
  deleteFeedbackSource: async () => ({ id: await create('/feedback-sources', { name: `To delete ${++counter}` }) }),
  getPerson: async () => ({ id: world.person }),
  deletePerson: async () => ({ id: await create('/people', { email: `to.delete.${++counter}@example.com` }, 'PUT') }),
  ingestRecord: async () => ({ id: world.source }),
  ingestRecords: async () => ({ id: world.source }),
  getWebhookEndpoint: async () => ({ id: world.webhook }),
  updateWebhookEndpoint: async () => ({ id: world.webhook }),
  deleteWebhookEndpoint: async () => ({ id: await create('/webhooks', { url: WEBHOOK_URL, event_types: ['webhook_endpoint.disabled'] }) }),
  rotateWebhookEndpointSecret: async () => ({ id: world.webhook }),
  listWebhookEvents: async () => ({ id: world.webhook }),
  replayWebhookEvent: async () => ({ id: world.webhook, event_id: world.webhookEvent }),
  listRecords: async () => ({ id: world.source }),
  listAllRecords: async () => ({}),
  getRecordStats: async () => ({}),
  getRecord: async () => ({ id: world.source, record_id: world.record }),
  deleteRecord: async () => ({ id: world.source, record_id: await create(`/feedback-sources/${world.source}/records`, { fields: [textField('To delete')] }) }),
};

/** Parameters whose values name existing things, whatever their schema allows. */
const references: Record<string, (operationId: string) => unknown> = {
  person_id: () => world.person,
  source_id: () => world.source,
  cursor: (operationId) => world.cursors.get(operationId),
};

/**
 * Parameters a cursor depends on: it is valid only with the order, field filters and search of the list
 * that returned it (none, here), so a request with a cursor leaves them out.
 */
const cursorScope = new Set(['order', 'field', 'q']);

/** Real-looking numbers that libphonenumber deems possible, one per country. */
const PHONE_NUMBERS = Object.keys(examples).flatMap((country) => {
  const example = getExampleNumber(country as CountryCode, examples);
  return example?.isPossible() ? [example.number] : [];
});

/** Body values that stand for state or that a schema cannot constrain, set the way the server needs them. */
const bodyAdjustments: Record<string, (body: Body, n: number) => void> = {
  createFeedbackSource: (body, n) => {
    if (typeof body.name === 'string') body.name = withSuffix(body.name, ` #${n}`, MAX_SOURCE_NAME_LENGTH);
  },
  updateFeedbackSource: (body, n) => {
    if (typeof body.name === 'string') body.name = withSuffix(body.name, ` #${n}`, MAX_SOURCE_NAME_LENGTH);
  },
  upsertPerson: (body, n) => {
    // A new person may not take another person's email; an email of its own avoids that conflict.
    if (typeof body.email === 'string') body.email = `u${n}.${body.email}`;
    if (typeof body.phone === 'string') body.phone = generate.generate({ enum: PHONE_NUMBERS });
  },
  ingestRecord: (body, n) => {
    if (typeof body.external_id === 'string') body.external_id = withSuffix(body.external_id, `#${n}`, MAX_EXTERNAL_ID_LENGTH);
    if (typeof body.person_id === 'number') body.person_id = world.person;
    const seen = new Set<string>();
    for (const [index, field] of (Array.isArray(body.fields) ? body.fields : []).entries()) {
      if (typeof field !== 'object' || field === null || typeof field.name !== 'string') continue;
      if (seen.has(field.name)) field.name = withSuffix(field.name, `~${index}`, MAX_NAME_LENGTH);
      seen.add(field.name);
    }
  },
  createWebhookEndpoint: (body) => {
    body.url = WEBHOOK_URL;
    body.event_types = ['webhook_endpoint.disabled'];
    if (Array.isArray(body.source_ids)) body.source_ids = [world.source];
  },
  updateWebhookEndpoint: (body) => {
    if ('url' in body) body.url = WEBHOOK_URL;
    if ('event_types' in body) body.event_types = ['webhook_endpoint.disabled'];
    if (Array.isArray(body.source_ids)) body.source_ids = [world.source];
  },
  // The generator stops short of a batch's record fields (they nest past its depth), so each record is
  // drawn on its own from the single-record schema and adjusted as one; a few records keep the body
  // under its byte limit.
  ingestRecords: (body, n) => {
    const count = Array.isArray(body.records) ? Math.min(body.records.length, 3) : 1;
    body.records = Array.from({ length: count }, (_, index) => {
      const record = generate.generate(pointer('#/components/schemas/FeedbackRecordIngest')) as Body;
      bodyAdjustments.ingestRecord?.(record, n * 1000 + index);
      return record;
    });
  },
};

/** What the document cannot say about a body: sizes in bytes and unstorable text. */
function limitsBroken(body: unknown): string[] {
  if (body === undefined) return [];
  const text = JSON.stringify(body);
  const problems: string[] = [];
  if (Buffer.byteLength(text) > BODY_LIMIT) problems.push('the body is over the body limit');
  if (/\\u0000|\\ud[89a-f]/i.test(text)) problems.push('a text holds U+0000 or an unpaired surrogate');
  const fields = typeof body === 'object' && body !== null && 'fields' in body && Array.isArray(body.fields) ? body.fields : [];
  for (const field of fields) {
    if (Buffer.byteLength(JSON.stringify(field?.value) ?? '') > MAX_VALUE_BYTES) problems.push('a field value is over its byte limit');
  }
  return problems;
}

function parametersOf(operation: OperationObject): Parameter[] {
  return (operation.parameters ?? []).map((parameter) => ('$ref' in parameter ? (pointer(String(parameter.$ref)) as unknown as Parameter) : (parameter as Parameter)));
}

/** An object schema whose properties are the parameters of one place, so the generator decides which optional ones to send. */
function parameterObject(parameters: Parameter[]): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter.schema])),
    required: parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name),
  };
}

/** Draws until the request conforms to the document and the limits it cannot state; a draw that never does fails the test. */
function drawRequest(key: string, operation: OperationObject, ids: Record<string, number | string>): Request {
  const [method = '', template = ''] = key.split(' ');
  const operationId = operation.operationId ?? key;
  const parameters = parametersOf(operation);
  const pointerOf = (parameter: Parameter) => ['paths', template, method.toLowerCase(), 'parameters', String(parameters.indexOf(parameter)), 'schema'];
  let problems: string[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    const n = ++counter;
    problems = [];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => String(ids[name] ?? `{missing ${name}}`));
    for (const parameter of parameters.filter((parameter) => parameter.in === 'path')) {
      const errors = validator.errors(pointerOf(parameter), ids[parameter.name]);
      if (errors) problems.push(`${parameter.name}=${ids[parameter.name]}: ${JSON.stringify(errors.slice(0, 2))}`);
    }
    const query: Record<string, string> = {};
    const headers: Record<string, string> = {};
    for (const place of ['query', 'header'] as const) {
      const own = parameters.filter((parameter) => parameter.in === place);
      const values = generate.generate(parameterObject(own)) as Record<string, unknown>;
      for (const parameter of own) {
        if (!(parameter.name in values)) continue;
        // A deepObject's values follow operators no schema can tie to them (field[nps][lt] takes a number, date or date-time).
        if (parameter.style === 'deepObject') continue;
        if (cursorScope.has(parameter.name) && 'cursor' in values && references.cursor?.(operationId) !== undefined) continue;
        let value = values[parameter.name];
        if (parameter.name in references) value = references[parameter.name]?.(operationId);
        // Keys are unique per request, or a retry of another body would be a 409.
        if (parameter.name === 'Idempotency-Key' && typeof value === 'string') value = [...`${n}-${value}`].slice(0, 255).join('');
        if (value === undefined) continue;
        const errors = validator.errors(pointerOf(parameter), value);
        if (errors) problems.push(`${parameter.name}=${JSON.stringify(value)}: ${JSON.stringify(errors.slice(0, 2))}`);
        (place === 'query' ? query : headers)[parameter.name] = String(value);
      }
    }
    let body: unknown;
    const bodySchema = operation.requestBody?.content['application/json']?.schema;
    if (bodySchema) {
      body = generate.generate(bodySchema as JsonSchema);
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) bodyAdjustments[operationId]?.(body as Body, n);
      const errors = validator.errors(['paths', template, method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema'], body);
      if (errors) problems.push(`body: ${JSON.stringify(errors.slice(0, 3))}`);
      problems.push(...limitsBroken(body));
    }
    if (problems.length === 0) return { method, path, query, headers, ...(body === undefined ? {} : { body }) };
  }
  throw new Error(`no request for ${key} drawn in 100 attempts conforms to the document: ${problems.join('; ')}`);
}

/** The scope the operation's security requirement names, as the document states it. */
function credentials(operation: OperationObject, run: number): Record<string, string> {
  const [requirement] = operation.security ?? doc.security ?? [];
  if (!requirement) return {};
  const [scope] = Object.values(requirement).flat();
  const token = scope ? tokens.get(scope) : adminToken;
  if (!token) throw new Error(`no token for the scope ${scope}`);
  // Both documented schemes carry the same token.
  return run % 2 === 0 ? { 'x-api-token': token } : { authorization: `Bearer ${token}` };
}

/** Every way the answer to a request the document allows falls short of a documented success. */
async function exchange(key: string, operation: OperationObject, request: Request): Promise<string[]> {
  const [method = '', template = ''] = key.split(' ');
  const reply = await send(request);
  const label = `${request.method} ${request.path}?${new URLSearchParams(request.query)} ${JSON.stringify(request.headers)} ${JSON.stringify(request.body) ?? ''}`.slice(0, 1500);
  const status = String(reply.status);
  const documented = operation.responses[status];
  if (!status.startsWith('2') || !documented) return [`${label} → ${reply.status} ${reply.text.slice(0, 500)}`];
  const problems: string[] = [];
  const body: unknown = JSON.parse(reply.text);
  const errors = validator.errors(['paths', template, method.toLowerCase(), 'responses', status, 'content', 'application/json', 'schema'], body);
  if (errors) problems.push(`${label} → a ${status} body that does not match its schema: ${JSON.stringify(errors.slice(0, 3))}`);
  if (status === '201') {
    const id = typeof body === 'object' && body !== null && 'id' in body ? body.id : undefined;
    const location = reply.headers.get('location');
    if (location !== `${request.path}/${id}`) problems.push(`${label} → 201 with Location ${location}, not ${request.path}/${id}`);
  }
  return problems;
}

/** The operations, known before the server starts: the document is generated from the route table. */
const operationKeys = Object.entries(openApiDocument(restRoutes, PUBLIC_URL).paths ?? {}).flatMap(([path, item]) =>
  HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => operationKey(method, path)),
);

beforeAll(async () => {
  server = await startTestServer();
  adminToken = await server.createToken('Generated Requests');
  for (const scope of scopes) {
    tokens.set(scope, await server.createToken('Generated Requests', { scopes: [scope] }));
  }
  doc = (await sendHttp<OpenApiDocument>(server.url, { path: `${REST_PREFIX}/openapi.json` })).body;
  validator = new DocumentValidator(doc);

  world.source = await create('/feedback-sources', { name: 'Generated requests' });
  await create('/feedback-sources', { name: 'Generated requests, second' });
  world.person = await create('/people', { email: 'generated.person@example.com' }, 'PUT');
  await create('/people', { external_id: 'generated-second' }, 'PUT');
  world.record = await create(`/feedback-sources/${world.source}/records`, { person_id: world.person, fields: [textField('First')] });
  await create(`/feedback-sources/${world.source}/records`, { fields: [textField('Second')] });
  world.webhook = await create('/webhooks', { url: WEBHOOK_URL, event_types: ['webhook_endpoint.disabled'] });
  world.webhookEvent = `msg_${'0'.repeat(31)}1`;
  await server.orm.em
    .getConnection()
    .execute(
      `insert into "webhook_event" ("id", "organization_id", "endpoint_id", "type", "payload", "created_at", "next_attempt_at", "status", "attempts")
        select ?, "organization_id", "id", 'webhook_endpoint.disabled', '{}', now(), null, 'delivered', 1 from "webhook_endpoint" where "id" = ?`,
      [world.webhookEvent, world.webhook],
    );
  // A cursor is valid only as a list returned it: the next_cursor of each list's first page of one.
  for (const [key, operation] of operationsOf(doc)) {
    if (!parametersOf(operation).some((parameter) => parameter.name === 'cursor')) continue;
    const path = key.split(' ')[1]?.replace('{id}', String(world.source)) ?? '';
    const page = await send({ method: 'GET', path, query: { limit: '1' }, headers: { 'x-api-token': adminToken } });
    const cursor = (JSON.parse(page.text) as { next_cursor: string | null }).next_cursor;
    if (operation.operationId && cursor) world.cursors.set(operation.operationId, cursor);
  }
});

afterAll(() => server.close());

describe('requests drawn from the OpenAPI document', () => {
  it('covers every operation of the served document', () => {
    expect([...operationsOf(doc).keys()].sort()).toEqual([...operationKeys].sort());
    expect(PHONE_NUMBERS.length).toBeGreaterThan(100);
  });

  it.each(operationKeys)(`are all accepted: %s (${RUNS} requests)`, async (key) => {
    const operation = operationsOf(doc).get(key);
    if (!operation) throw new Error(`${key} is not in the served document`);
    const idsOf = operation.operationId ? pathIds[operation.operationId] : undefined;
    const needsIds = parametersOf(operation).some((parameter) => parameter.in === 'path');
    if (needsIds && !idsOf) throw new Error(`no ids for the path of ${key}: add it to pathIds`);
    const problems: string[] = [];
    for (let run = 0; run < RUNS; run++) {
      const request = drawRequest(key, operation, idsOf ? await idsOf() : {});
      request.headers = { ...request.headers, ...credentials(operation, run) };
      problems.push(...(await exchange(key, operation, request)));
    }
    expect(problems).toEqual([]);
  });

  it('reports a refused request (the check can fail): a record whose field names repeat', async () => {
    const key = `POST ${REST_PREFIX}/feedback-sources/{id}/records`;
    const operation = operationsOf(doc).get(key);
    if (!operation) throw new Error(`${key} is not documented`);
    const request = drawRequest(key, operation, { id: world.source });
    request.body = { fields: [textField('once'), textField('twice')] };
    request.headers = { ...request.headers, ...credentials(operation, 0) };
    const problems = await exchange(key, operation, request);
    expect(problems).toEqual([expect.stringContaining('→ 400')]);
  });
});
