import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import type { RestClient } from './http.ts';

/** A webhook endpoint as the REST API shows it; `secret` only in the answers that reveal it. */
export interface WebhookEndpoint {
  id: number;
  url: string;
  event_types: string[];
  source_ids: number[] | null;
  enabled: boolean;
  consecutive_failures: number;
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
  secret?: string;
}

/** POST /v3/rest/webhooks, which must answer 201; the endpoint with its secret. */
export async function createWebhookEndpoint(client: RestClient, body: Record<string, unknown>): Promise<WebhookEndpoint & { secret: string }> {
  const reply = await client.post<WebhookEndpoint & { secret: string }>('/webhooks', body);
  expect(reply.status, reply.text).toBe(201);
  return reply.body;
}

/** One request a receiver got, as it arrived. */
export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; timestamp: string; organization_id: number; data: Record<string, unknown> };
}

/**
 * A real webhook receiver: a node:http server on a loopback port that keeps every request and
 * answers `status` (200 unless told), optionally after holding the request. It can go down and come
 * back on the same port.
 */
export class Receiver {
  readonly received: Received[] = [];
  status = 200;
  /** When set, each request waits for this before it is answered. */
  hold: Promise<void> | null = null;
  /** Called as each request arrives, before it is answered. */
  onRequest: ((request: Received) => void) | null = null;
  #server: http.Server | null = null;
  #port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks`;
  }

  async start(): Promise<this> {
    const server = http.createServer((request, response) => {
      const parts: Buffer[] = [];
      request.on('data', (chunk: Buffer) => parts.push(chunk));
      request.on('end', async () => {
        const body = Buffer.concat(parts).toString('utf8');
        const received = { headers: request.headers, body, json: JSON.parse(body) };
        this.received.push(received);
        this.onRequest?.(received);
        if (this.hold) await this.hold;
        response.writeHead(this.status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Goes down: the port refuses connections until start() again. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  ofType(type: string): Received[] {
    return this.received.filter((request) => request.json.type === type);
  }
}

/** Verifies a delivery as a receiver would with the standardwebhooks library; throws when the signature is wrong. */
export function verify(secret: string, request: Received): unknown {
  const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(request.headers[name])]));
  return new Webhook(secret).verify(request.body, headers);
}

/**
 * The receivers a test file starts, and the endpoints that point at them: cleared after each test, so
 * that each starts without the endpoints of the ones before, whose receivers are gone.
 */
export class Receivers {
  readonly #started: Receiver[] = [];

  async start(): Promise<Receiver> {
    const started = await new Receiver().start();
    this.#started.push(started);
    return started;
  }

  /** Stops every receiver started, then deletes every endpoint of `client`'s organization. */
  async clear(client: RestClient): Promise<void> {
    for (const receiver of this.#started.splice(0)) await receiver.stop();
    const endpoints = await client.get<{ data: { id: number }[] }>('/webhooks', { query: { limit: 100 } });
    for (const endpoint of endpoints.body.data) expect((await client.delete(`/webhooks/${endpoint.id}`)).status).toBe(200);
  }
}
