import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver } from '../../src/webhooks/webhook-delivery.ts';
import { expectErrorEnvelope, graphql, RestClient } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RFC3339_UTC } from '../helpers/spec.ts';
import { Receiver, type WebhookEndpoint } from '../helpers/webhooks.ts';

// Issue 12 items 2 and 4: webhook endpoints managed over REST and GraphQL, their secret shown once,
// and no server-side request forgery: without WEBHOOK_ALLOW_PRIVATE_URLS only https URLs resolving
// to public addresses are accepted, and delivery checks the address it connects to again.

/** A public address, given as a literal so that no DNS lookup is needed (TEST-NET would be refused as reserved). */
const PUBLIC_URL_OK = 'https://93.184.215.14/hooks';

let server: TestServer;
let api: RestClient;

beforeAll(async () => {
  server = await startTestServer();
  api = new RestClient(server.url, await server.createToken('WebhookEndpoint Corp'));
});

afterAll(() => server.close());

describe('POST /v3/rest/webhooks', () => {
  it('answers 201 with the endpoint and its whsec_ secret, shown only in that answer', async () => {
    const reply = await api.post<WebhookEndpoint>('/webhooks', { url: PUBLIC_URL_OK, event_types: ['feedback_record.created', 'feedback_record.deleted'] });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.headers.get('location')).toBe(`/v3/rest/webhooks/${reply.body.id}`);
    expect(Object.keys(reply.body).sort()).toEqual(['consecutive_failures', 'created_at', 'disabled_reason', 'enabled', 'event_types', 'id', 'secret', 'source_ids', 'updated_at', 'url']);
    expect(reply.body).toMatchObject({ url: PUBLIC_URL_OK, event_types: ['feedback_record.created', 'feedback_record.deleted'], source_ids: null, enabled: true, consecutive_failures: 0, disabled_reason: null });
    expect(reply.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(reply.body.created_at).toMatch(RFC3339_UTC);

    const read = await api.get<WebhookEndpoint>(`/webhooks/${reply.body.id}`);
    expect(read.status).toBe(200);
    const { secret: _secret, ...shown } = reply.body;
    expect(read.body).toEqual(shown);
    const listed = await api.get<{ data: WebhookEndpoint[] }>('/webhooks');
    expect(listed.text).not.toContain(String(reply.body.secret));
    expect(listed.body.data.map((endpoint) => endpoint.id)).toContain(reply.body.id);
  });

  it.each([
    ['plain http', 'http://93.184.215.14/hooks', 'https://'],
    ['a loopback address', 'https://127.0.0.1/hooks', '127.0.0.1'],
    ['a name that resolves to loopback', 'https://localhost:8443/hooks', 'loopback'],
    ['a private address', 'https://10.1.2.3/hooks', '10.1.2.3'],
    ['a link-local address', 'https://169.254.10.10/hooks', '169.254.10.10'],
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['IPv6 loopback', 'https://[::1]/hooks', '::1'],
    ['an IPv4-mapped private address', 'https://[::ffff:192.168.0.1]/hooks', '::ffff:c0a8:1'],
    ['credentials in the URL', 'https://user:pass@93.184.215.14/hooks', 'credentials'],
  ])('answers 400 VALIDATION_FAILED naming url to %s', async (_what, url, message) => {
    const reply = await api.post('/webhooks', { url, event_types: ['feedback_record.created'] });
    expectErrorEnvelope(reply, { type: 'validation_error', code: 'VALIDATION_FAILED', param: 'url', message, errors: [{ param: 'url', code: 'VALIDATION_FAILED' }] });
  });

  it('answers 400 naming every failing field: an unknown event type and a malformed source id', async () => {
    const reply = await api.post('/webhooks', { url: PUBLIC_URL_OK, event_types: ['record.exploded'], source_ids: ['abc'] });
    expectErrorEnvelope(reply, {
      type: 'validation_error',
      code: 'VALIDATION_FAILED',
      param: null,
      errors: [
        { param: 'event_types', code: 'INVALID_FIELD_VALUE' },
        { param: 'source_ids[0]', code: 'INVALID_ID' },
      ],
    });
  });

  it('answers 404 FEEDBACK_SOURCE_NOT_FOUND for a source filter naming another organization\'s source', async () => {
    const other = api.as(await server.createToken('Other WebhookEndpoint Corp'));
    const theirs = await other.createSource({ name: 'Not yours' });
    const reply = await api.post('/webhooks', { url: PUBLIC_URL_OK, event_types: ['feedback_record.created'], source_ids: [theirs.id] });
    expectErrorEnvelope(reply, { type: 'not_found_error', code: 'FEEDBACK_SOURCE_NOT_FOUND', param: 'source_ids[0]' });
  });

  it('answers 403 INSUFFICIENT_SCOPE naming webhooks:write to a token with every other scope', async () => {
    const limited = api.as(await server.createToken('WebhookEndpoint Corp', { scopes: ['sources:read', 'sources:write', 'people:read', 'people:write', 'records:read', 'records:write', 'webhooks:read'] }));
    const reply = await limited.post('/webhooks', { url: PUBLIC_URL_OK, event_types: ['feedback_record.created'] });
    expectErrorEnvelope(reply, { type: 'permission_error', code: 'INSUFFICIENT_SCOPE', param: null, message: 'webhooks:write' });
  });
});

describe('PATCH, DELETE and rotate', () => {
  it('changes the fields given, refuses a private URL, rotates the secret and deletes the endpoint', async () => {
    const created = (await api.post<WebhookEndpoint>('/webhooks', { url: PUBLIC_URL_OK, event_types: ['feedback_record.created'] })).body;
    const source = await api.createSource({ name: 'Filtered' });
    const patched = await api.patch<WebhookEndpoint>(`/webhooks/${created.id}`, { event_types: ['feedback_record.deleted'], source_ids: [source.id], enabled: false });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ url: PUBLIC_URL_OK, event_types: ['feedback_record.deleted'], source_ids: [source.id], enabled: false });
    expect(patched.body).not.toHaveProperty('secret');

    const refused = await api.patch(`/webhooks/${created.id}`, { url: 'https://192.168.1.1/hooks' });
    expectErrorEnvelope(refused, { type: 'validation_error', code: 'VALIDATION_FAILED', param: 'url', errors: [{ param: 'url', code: 'VALIDATION_FAILED' }] });

    const rotated = await api.post<WebhookEndpoint>(`/webhooks/${created.id}/rotate-secret`, undefined);
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);

    const deleted = await api.delete(`/webhooks/${created.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: created.id, deleted: true });
    expectErrorEnvelope(await api.get(`/webhooks/${created.id}`), { type: 'not_found_error', code: 'WEBHOOK_ENDPOINT_NOT_FOUND', param: 'id' });
  });
});

describe('over GraphQL', () => {
  it('creates an endpoint with createWebhookEndpoint and lists it with webhookEndpoints', async () => {
    const token = await server.createToken('GraphQL WebhookEndpoint Corp');
    const created = await graphql<{ createWebhookEndpoint: { __typename: string; secret: string; webhookEndpoint: { id: string; url: string; eventTypes: string[] } } }>(
      server.url,
      'mutation ($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ... on CreateWebhookEndpointSuccess { secret webhookEndpoint { id url eventTypes } } ... on Error { code param } } }',
      { input: { url: PUBLIC_URL_OK, eventTypes: ['feedback_record.created'] } },
      { token },
    );
    expect(created.body.data?.createWebhookEndpoint).toMatchObject({ __typename: 'CreateWebhookEndpointSuccess', secret: expect.stringMatching(/^whsec_/), webhookEndpoint: { url: PUBLIC_URL_OK } });
    const refused = await graphql<{ createWebhookEndpoint: { __typename: string; code: string; param: string } }>(
      server.url,
      'mutation ($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename ... on Error { code param } } }',
      { input: { url: 'https://localhost/hooks', eventTypes: ['feedback_record.created'] } },
      { token },
    );
    expect(refused.body.data?.createWebhookEndpoint).toEqual({ __typename: 'ValidationError', code: 'VALIDATION_FAILED', param: 'url' });
    const listed = await graphql<{ webhookEndpoints: { edges: { node: { id: string } }[] } }>(server.url, '{ webhookEndpoints { edges { node { id } } } }', {}, { token });
    expect(listed.body.data?.webhookEndpoints.edges.map((edge) => edge.node.id)).toEqual([created.body.data?.createWebhookEndpoint.webhookEndpoint.id]);
  });
});

describe('delivery without WEBHOOK_ALLOW_PRIVATE_URLS', () => {
  it('refuses to connect to a host that resolves to a loopback address, or to one written in the URL, so the receiver gets nothing', async () => {
    const receiver = await new Receiver().start();
    try {
      const url = receiver.url.replace('127.0.0.1', 'localhost');
      const outcome = await deliver(url, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { id: 'msg_0', type: 'feedback_record.created', organizationId: 1, createdAt: new Date(), data: {} }, { allowPrivate: false });
      expect(outcome).toMatchObject({ ok: false, responseStatus: null, error: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1), which webhooks may not reach/) });
      expect(receiver.received).toEqual([]);
      const allowed = await deliver(url, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { id: 'msg_1', type: 'feedback_record.created', organizationId: 1, createdAt: new Date(), data: {} }, { allowPrivate: true });
      expect(allowed.ok).toBe(true);
      expect(receiver.received.length).toBe(1);
      // An address written in the URL is checked as well, though nothing resolves it.
      const literal = await deliver(receiver.url, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { id: 'msg_2', type: 'feedback_record.created', organizationId: 1, createdAt: new Date(), data: {} }, { allowPrivate: false });
      expect(literal).toMatchObject({ ok: false, responseStatus: null, error: '127.0.0.1 is an address webhooks may not reach.' });
      expect(receiver.received.length).toBe(1);
    } finally {
      await receiver.stop();
    }
  });
});

describe('WEBHOOK_ALLOW_PRIVATE_URLS', () => {
  it('is each server\'s own setting: one that allows private URLs beside one that does not leaves the other refusing them', async () => {
    const permissive = await startTestServer({ WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });
    try {
      const body = { url: 'http://127.0.0.1:9/hooks', event_types: ['feedback_record.created'] };
      const allowed = await new RestClient(permissive.url, await permissive.createToken('Permissive Corp')).post<WebhookEndpoint>('/webhooks', body);
      expect(allowed.status, allowed.text).toBe(201);
      expect(allowed.body.url).toBe(body.url);
      expectErrorEnvelope(await api.post('/webhooks', body), { type: 'validation_error', code: 'VALIDATION_FAILED', param: 'url', errors: [{ param: 'url', code: 'VALIDATION_FAILED' }] });
    } finally {
      await permissive.close();
    }
  });
});
