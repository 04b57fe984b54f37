import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import ipaddr from 'ipaddr.js';
import { FieldErrors, ValidationError } from '../errors/api-error.ts';
import { sourceNotFound } from '../sources/source.queries.ts';
import { parseId } from '../validation/ids.ts';
import { describeValue, isText } from '../validation/values.ts';
import { isEventType, webhookEventTypes } from './webhook-event-types.ts';
import { addressesOf, hostOf, type WebhookHosts } from './webhook-hosts.ts';
import { type CheckedEndpoint, findMissingSources, insertEndpoint, rotateEndpointSecret, updateEndpoint, type WebhookEndpointView } from './webhook.queries.ts';

export const MAX_URL_LENGTH = 2_048;
export const MAX_SOURCE_FILTER = 100;

/** Cloud metadata services: refused even where private addresses are allowed. */
const METADATA_ADDRESSES = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

/** A new signing secret in the Standard Webhooks form: `whsec_` and the base64 of 24 random bytes. */
function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

function refuse(param: string, message: string): ValidationError {
  return new ValidationError('VALIDATION_FAILED', { param, message, errors: [{ param, code: 'VALIDATION_FAILED', message }] });
}

/**
 * Whether a webhook may connect to this address: a public unicast one, or with `allowPrivate` any
 * but a metadata service. Loopback, private, link-local, carrier-grade NAT, multicast and reserved
 * ranges reach the gateway's own network, not the receiver's.
 */
export function isAllowedAddress(address: string, allowPrivate: boolean): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  if (METADATA_ADDRESSES.has(parsed.toString())) return false;
  return allowPrivate || parsed.range() === 'unicast';
}

/** How webhook URLs are checked: WEBHOOK_ALLOW_PRIVATE_URLS, and the hosts the request's URLs were found at before its transaction. */
export interface UrlPolicy {
  allowPrivate: boolean;
  hosts?: WebhookHosts | undefined;
}

/**
 * Checks a webhook URL as given: https (http only with `allowPrivate`), no credentials, and a host
 * whose every address is allowed. Refusals are VALIDATION_FAILED naming `param`.
 */
async function checkWebhookUrl(value: string, { allowPrivate, hosts }: UrlPolicy, param = 'url'): Promise<string> {
  if (!isText(value, MAX_URL_LENGTH) || !URL.canParse(value)) {
    throw new ValidationError('INVALID_FIELD_VALUE', { param, message: (n) => `${n(param)} must be an absolute https:// URL of at most ${MAX_URL_LENGTH} characters; got ${describeValue(value)}.` });
  }
  const url = new URL(value);
  const schemes = allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) throw refuse(param, `${param} must be an https:// URL; got ${describeValue(value)}.`);
  if (url.username !== '' || url.password !== '') throw refuse(param, `${param} must not carry credentials; send a secret in the path or check the signature instead.`);
  const host = hostOf(url);
  const addresses = hosts?.has(host) ? hosts.get(host) : await addressesOf(host);
  if (!addresses) throw refuse(param, `${param} names the host ${host}, which does not resolve.`);
  const forbidden = addresses.find((address) => !isAllowedAddress(address, allowPrivate));
  if (forbidden !== undefined) {
    throw refuse(param, `${param} resolves to ${forbidden}, a loopback, private, link-local or metadata address; webhooks only reach public addresses.`);
  }
  return url.toString();
}

export interface EndpointInput {
  url?: string | null;
  eventTypes?: readonly string[] | null;
  sourceIds?: readonly (string | number)[] | null;
  enabled?: boolean | null;
}



/** Checks the shape of an endpoint's fields (every failing one at once), then its URL's addresses. */
async function checkEndpointInput(input: EndpointInput, urls: UrlPolicy, creating: boolean): Promise<CheckedEndpoint> {
  const errors = new FieldErrors();
  const checked: CheckedEndpoint = {};
  if (creating && (input.url === undefined || input.url === null)) errors.add('url', 'INVALID_FIELD_VALUE', (n) => `${n('url')} is required.`);
  if (input.eventTypes !== undefined && input.eventTypes !== null) {
    const unknown = input.eventTypes.filter((type) => !isEventType(type));
    if (input.eventTypes.length === 0) errors.add('eventTypes', 'INVALID_FIELD_VALUE', (n) => `${n('eventTypes')} must name at least one event type.`);
    for (const type of unknown) errors.add('eventTypes', 'INVALID_FIELD_VALUE', (n) => `${n('eventTypes')} must hold only ${webhookEventTypes.join(', ')}; got ${describeValue(type)}.`);
    if (unknown.length === 0) checked.eventTypes = [...new Set(input.eventTypes.filter(isEventType))];
  } else if (creating) {
    errors.add('eventTypes', 'INVALID_FIELD_VALUE', (n) => `${n('eventTypes')} is required.`);
  }
  if (input.sourceIds !== undefined) {
    if (input.sourceIds === null) checked.sourceIds = null;
    else if (input.sourceIds.length === 0 || input.sourceIds.length > MAX_SOURCE_FILTER) {
      errors.add('sourceIds', 'INVALID_FIELD_VALUE', (n) => `${n('sourceIds')} must hold 1 to ${MAX_SOURCE_FILTER} source ids, or be null for every source; got ${input.sourceIds?.length}.`);
    } else {
      const ids = input.sourceIds.map((id, index) => {
        const parsed = parseId(id);
        if (parsed === null) errors.add(`sourceIds[${index}]`, 'INVALID_ID', (n) => `${n(`sourceIds[${index}]`)} must be a positive integer id; got ${describeValue(id)}.`);
        return parsed;
      });
      checked.sourceIds = [...new Set(ids.filter((id) => id !== null))];
    }
  }
  if (input.enabled !== undefined && input.enabled !== null) checked.enabled = input.enabled;
  errors.throwIfAny();
  if (input.url !== undefined && input.url !== null) checked.url = await checkWebhookUrl(input.url, urls);
  return checked;
}

/**
 * When a failed message is tried again: exponential from BASE_RETRY_MS, capped at MAX_RETRY_MS,
 * with full jitter over its upper half so that receivers coming back are not hit by every sender at once.
 */
const BASE_RETRY_MS = 1_000;
const MAX_RETRY_MS = 15 * 60_000;
/** Attempts of one message before it is given up as failed. */
export const MAX_ATTEMPTS = 10;
/** Failed attempts in a row, over all its messages, after which an endpoint is disabled. */
export const MAX_CONSECUTIVE_FAILURES = 20;

export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_MS, BASE_RETRY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A source filter names only the organization's sources; the first unknown one is named. */
async function checkSources(em: EntityManager, organizationId: number, sourceIds: number[] | null | undefined): Promise<void> {
  if (!sourceIds) return;
  const missing = new Set(await findMissingSources(em, organizationId, sourceIds));
  const index = sourceIds.findIndex((id) => missing.has(id));
  if (index >= 0) throw sourceNotFound(sourceIds[index] ?? 0, `sourceIds[${index}]`);
}

export async function createEndpoint(em: EntityManager, organizationId: number, input: EndpointInput, urls: UrlPolicy): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
  const checked = await checkEndpointInput(input, urls, true);
  await checkSources(em, organizationId, checked.sourceIds);
  const secret = newWebhookSecret();
  const endpoint = await insertEndpoint(em, organizationId, { url: checked.url ?? '', eventTypes: checked.eventTypes ?? [], sourceIds: checked.sourceIds ?? null, secret });
  return { endpoint, secret };
}

export async function updateWebhookEndpoint(em: EntityManager, organizationId: number, id: number, input: EndpointInput, urls: UrlPolicy): Promise<WebhookEndpointView> {
  const checked = await checkEndpointInput(input, urls, false);
  await checkSources(em, organizationId, checked.sourceIds);
  return await updateEndpoint(em, organizationId, id, checked);
}

export async function rotateSecret(em: EntityManager, organizationId: number, id: number): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
  const secret = newWebhookSecret();
  return { endpoint: await rotateEndpointSecret(em, organizationId, id, secret), secret };
}
