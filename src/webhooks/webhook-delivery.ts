import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { isAllowedAddress } from './webhook.rules.ts';

/** How long a receiver has to answer; a slower one counts as failed and gets the message again. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** What of a receiver's failure is kept: enough to tell why, never a whole body. */
const MAX_ERROR_LENGTH = 500;

export interface OutgoingMessage {
  /** The webhook-id: the same on every attempt of this message. */
  id: string;
  type: string;
  organizationId: number;
  /** When the event happened. */
  createdAt: Date;
  data: unknown;
}

export interface DeliveryOutcome {
  ok: boolean;
  responseStatus: number | null;
  latencyMs: number;
  error: string | null;
}

/** The body every receiver gets (Standard Webhooks: the event type and data, with its id and time). */
function messageBody(message: OutgoingMessage): string {
  return JSON.stringify({ id: message.id, type: message.type, timestamp: message.createdAt.toISOString(), organization_id: message.organizationId, data: message.data });
}

/** The Standard Webhooks headers of one attempt, signed with the endpoint's `whsec_` secret. */
function signedHeaders(secret: string, id: string, body: string, now: Date = new Date()): Record<string, string> {
  const timestamp = new Date(Math.floor(now.getTime() / 1000) * 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': new Webhook(secret).sign(id, timestamp, body),
  };
}

/**
 * Resolves like node's own lookup, then refuses an address a webhook may not reach: the address
 * checked is the one connected to, so a name that resolves elsewhere between the check and the
 * connection (DNS rebinding) gains nothing.
 */
function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const forbidden = addresses.find((entry) => !isAllowedAddress(entry.address, allowPrivate));
      if (forbidden) return callback(Object.assign(new Error(`${hostname} resolves to ${forbidden.address}, which webhooks may not reach`), { code: 'EADDRNOTALLOWED' }), []);
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/** POSTs one signed message; any 2xx is a success, anything else (or no answer in time) a failure. */
export function deliver(url: string, secret: string, message: OutgoingMessage, options: { allowPrivate: boolean; signal?: AbortSignal }): Promise<DeliveryOutcome> {
  const body = messageBody(message);
  const started = performance.now();
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const latency = () => Math.round(performance.now() - started);
  // An address in the URL itself is connected to without a lookup, so it is checked here.
  const literal = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0 && !isAllowedAddress(literal, options.allowPrivate)) {
    return Promise.resolve({ ok: false, responseStatus: null, latencyMs: 0, error: `${literal} is an address webhooks may not reach.` });
  }
  return new Promise((resolve) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'feedback-gateway-webhooks/1', ...signedHeaders(secret, message.id, body) },
        lookup: guardedLookup(options.allowPrivate),
        timeout: DELIVERY_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (response) => {
        // The body is not kept: reading it frees the connection.
        response.resume();
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          resolve({ ok, responseStatus: status, latencyMs: latency(), error: ok ? null : `The receiver answered ${status}.` });
        });
        response.on('error', (error) => resolve({ ok: false, responseStatus: response.statusCode ?? null, latencyMs: latency(), error: error.message.slice(0, MAX_ERROR_LENGTH) }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`No answer within ${DELIVERY_TIMEOUT_MS / 1000} s.`)));
    request.on('error', (error) => resolve({ ok: false, responseStatus: null, latencyMs: latency(), error: error.message.slice(0, MAX_ERROR_LENGTH) }));
    request.end(body);
  });
}
