import validator from '@har-sdk/validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpReply, PUBLIC_URL, send } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Issue #14: GET /v3/rest/postman.json is a Postman v2.1 collection generated from the OpenAPI
// document, whose requests all send the `token` collection variable as x-api-token.

type PostmanDocument = Parameters<InstanceType<typeof validator.PostmanValidator>['verify']>[0];

interface KeyValue {
  key: string;
  value?: string;
}
interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; url: { host?: string[]; path?: string[] }; header?: KeyValue[]; auth?: unknown };
  response?: { name: string; code: number; body?: string }[];
}
interface Collection {
  info: { name: string; schema: string; description?: { content: string } };
  item: Item[];
  variable: KeyValue[];
  auth: { type: string; apikey: KeyValue[] };
}
interface OpenApi {
  paths: Record<string, Record<string, { operationId: string; summary: string; responses: Record<string, unknown> }>>;
}

let server: TestServer;
let reply: HttpReply<Collection>;
let collection: Collection;
let document: OpenApi;

beforeAll(async () => {
  server = await startTestServer();
  reply = await send<Collection>(server.url, { path: '/v3/rest/postman.json' });
  collection = reply.body;
  document = (await send<OpenApi>(server.url, { path: '/v3/rest/openapi.json' })).body;
});

afterAll(() => server.close());

/** Every request of the collection, its folders flattened. */
function requestsOf(items: readonly Item[]): Item[] {
  return items.flatMap((item) => (item.item ? requestsOf(item.item) : [item]));
}

/** "GET /v3/rest/feedback-sources/{id}" for a request whose URL is {{baseUrl}}/v3/rest/feedback-sources/:id. */
function operationKey(item: Item): string {
  const path = (item.request?.url.path ?? []).map((segment) => segment.replace(/^:(.+)$/, '{$1}')).join('/');
  return `${item.request?.method} /${path}`;
}

describe('GET /v3/rest/postman.json', () => {
  it('answers 200 with JSON, as a file to import, without a token', () => {
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(reply.headers.get('content-disposition')).toBe('attachment; filename="feedback-gateway.postman_collection.json"');
  });

  it('is a valid Postman v2.1 collection', async () => {
    expect(collection.info.schema).toBe('https://schema.getpostman.com/json/collection/v2.1.0/collection.json');
    const body: PostmanDocument = JSON.parse(reply.text);
    expect(await new validator.PostmanValidator().verify(body)).toEqual([]);
  });

  it('names the API as the OpenAPI document does and says how to set the token', () => {
    expect(collection.info.name).toBe('Feedback gateway REST API');
    expect(collection.info.description?.content).toContain(`Set the collection variable token to your API token; baseUrl is ${PUBLIC_URL}.`);
  });

  it('holds every operation of the OpenAPI document, by method, path and summary, and nothing else', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, name: operation.summary })),
    );
    const collected = requestsOf(collection.item).map((item) => ({ key: operationKey(item), name: item.name }));
    expect(documented.length).toBeGreaterThanOrEqual(16);
    expect(collected).toEqual(expect.arrayContaining(documented));
    expect(collected).toHaveLength(documented.length);
  });

  it('puts every request under {{baseUrl}}', () => {
    for (const item of requestsOf(collection.item)) expect(item.request?.url.host, item.name).toEqual(['{{baseUrl}}']);
  });

  it('has the collection variables baseUrl (PUBLIC_URL) and token (empty until set)', () => {
    expect(collection.variable).toEqual([
      expect.objectContaining({ key: 'baseUrl', value: PUBLIC_URL }),
      expect.objectContaining({ key: 'token', value: '' }),
    ]);
  });

  it('sends {{token}} as the x-api-token header from the collection\'s auth, which every request inherits', () => {
    expect(collection.auth.type).toBe('apikey');
    expect(Object.fromEntries(collection.auth.apikey.map(({ key, value }) => [key, value]))).toEqual({ key: 'x-api-token', value: '{{token}}', in: 'header' });
    for (const item of requestsOf(collection.item)) {
      expect(item.request?.auth ?? null, item.name).toBeNull();
      expect(item.request?.header?.map((header) => header.key.toLowerCase()) ?? [], item.name).not.toContain('x-api-token');
    }
  });

  it('keeps the document\'s examples: one per documented response, errors with their code and doc_url', () => {
    let errors = 0;
    for (const item of requestsOf(collection.item)) {
      const operation = document.paths[`/${item.request?.url.path?.join('/').replace(/:([a-z_]+)/g, '{$1}')}`]?.[item.request?.method.toLowerCase() ?? ''];
      expect((item.response ?? []).map((response) => String(response.code)).sort(), item.name).toEqual(Object.keys(operation?.responses ?? {}).sort());
      for (const response of item.response ?? []) {
        expect(response.name, item.name).not.toContain('](');
        const { error } = JSON.parse(response.body ?? '{}');
        if (response.code < 400 || error === undefined) continue;
        expect(error.doc_url, `${item.name} ${response.code}`).toBe(`${PUBLIC_URL}/docs/errors#${error.code}`);
        errors += 1;
      }
    }
    // Every error response of the document but /readyz's 503, which is not an error envelope.
    const errorResponses = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.values(operations).flatMap((operation) => Object.keys(operation.responses).filter((status) => Number(status) >= 400 && !(path === '/readyz' && status === '503'))),
    );
    expect(errors).toBe(errorResponses.length);
  });

  it('fills the Idempotency-Key of every write with a fresh UUID per send, left unticked', () => {
    const writes = requestsOf(collection.item).filter((item) => item.request?.method !== 'GET');
    expect(writes.length).toBeGreaterThan(0);
    for (const item of writes) expect(item.request?.header?.find((header) => header.key === 'Idempotency-Key'), item.name).toMatchObject({ value: '{{$guid}}', disabled: true });
  });

  it('answers the same collection again, made once', async () => {
    const again = await send(server.url, { path: '/v3/rest/postman.json' });
    expect(again.text).toBe(reply.text);
  });
});
