import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { MAX_REQUEST_ID_LENGTH } from './limits.ts';

/** A client's X-Request-Id is echoed when it matches this; every id the server makes does too. */
export const CLIENT_ID = new RegExp(`^[A-Za-z0-9._:-]{1,${MAX_REQUEST_ID_LENGTH}}$`);
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function newRequestId(): string {
  let id = 'req_';
  for (let i = 0; i < 12; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

/** SPEC §4: the client's X-Request-Id when it is safe to echo, else a fresh one. */
export function requestIdOf(request: IncomingMessage): string {
  const header = request.headers['x-request-id'];
  return typeof header === 'string' && CLIENT_ID.test(header) ? header : newRequestId();
}
