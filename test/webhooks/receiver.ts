import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

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
