import fc from 'fast-check';
import { expect } from 'vitest';
import type { RestRoute } from '../../src/rest/route.ts';
import { expectGraphQLContract, expectRestContract, type Outcome } from './fuzz-contract.ts';
import type { MutationUnderTest } from './fuzz-graphql.ts';
import { brokenJson, edited, IdSlot, idSlot, plausible, resolveIds, shapeOfZod, type Table, tableOfKey } from './fuzz-shapes.ts';
import { hostileJson, hostileKey, hostileScalar, hostileUrlText, RawJson, toJsonText } from './fuzz-values.ts';
import { describeExchange, encodeSegment, type FuzzWorld, type SentRequest, send } from './fuzz-world.ts';
import type { HttpReply } from './http.ts';
import { CLIENT_REQUEST_ID } from './spec.ts';

const NO_BODY = Symbol('no body');

/** A path segment: an id picked when sent, text to percent-encode, or raw bytes sent as they are. */
type Segment = IdSlot | string | RawJson;

export interface RestCase {
  params: Record<string, Segment>;
  query: [string, string][];
  body: unknown;
  contentType: string;
  idempotencyKey: string | null;
  requestId: string | null;
}

export interface Headers {
  idempotencyKey: string | null;
  requestId: string | null;
}

/** Idempotency-Key and X-Request-Id: usually none, sometimes well-formed, sometimes not (within what HTTP lets a client send). */
export const headerCase: fc.Arbitrary<Headers> = fc.record({
  idempotencyKey: fc.option(fc.oneof({ weight: 4, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom('', ' ', 'k'.repeat(255), 'k'.repeat(256), 'key\twith tab', 'cl\u00e9') }), { freq: 4, nil: null }),
  requestId: fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,24}$/), fc.constantFrom('', 'with space', '<b>', 'r'.repeat(129), '\u00e9t\u00e9')), { freq: 4, nil: null }),
});

function headersOf(token: string, headers: Headers, contentType: string | null): Record<string, string> {
  return {
    'x-api-token': token,
    ...(contentType === null ? {} : { 'content-type': contentType }),
    ...(headers.idempotencyKey === null ? {} : { 'idempotency-key': headers.idempotencyKey }),
    ...(headers.requestId === null ? {} : { 'x-request-id': headers.requestId }),
  };
}

const rawSegment = fc.constantFrom('%', '%zz', '%00', '%ED%A0%80', '%C0%AF', '..', '.', '1%2F2', '%20', '1.0', '01', '+1', '1e3', '0x1F', '99999999999999999999').map((text) => new RawJson(text));

/** Path parameter `{name}` of a route names the resource of the segment before it. */
function tableOfParam(path: string, name: string): Table | null {
  const segments = path.split('/');
  const before = segments[segments.indexOf(`{${name}}`) - 1];
  const table = ({ 'feedback-sources': 'feedback_source', people: 'person', records: 'feedback_record' } as Record<string, Table>)[before ?? ''];
  return table ?? tableOfKey(name, null);
}

function paramArbitrary(route: RestRoute, name: string): fc.Arbitrary<Segment> {
  return fc.oneof({ weight: 8, arbitrary: idSlot(tableOfParam(route.path, name)) }, { weight: 1, arbitrary: hostileUrlText }, { weight: 1, arbitrary: rawSegment });
}

function queryArbitrary(route: RestRoute): fc.Arbitrary<[string, string][]> {
  const known = Object.entries(route.query ?? {}).map(([key, schema]) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant<[string, string][]>([]) },
      { weight: 2, arbitrary: plausible(shapeOfZod(schema, key), key, { typed: true }).map((value): [string, string][] => [[key, (typeof value === 'string' ? value : toJsonText(value)).slice(0, 200)]]) },
      { weight: 1, arbitrary: hostileUrlText.map((value): [string, string][] => [[key, value]]) },
      { weight: 1, arbitrary: fc.tuple(hostileUrlText, hostileUrlText).map(([a, b]): [string, string][] => [[key, a], [key, b]]) },
    ),
  );
  const unknown = fc.oneof({ weight: 5, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 1, arbitrary: fc.tuple(hostileKey, hostileUrlText).map((pair): [string, string][] => [pair]) });
  return fc.tuple(...known, unknown).map((parts) => parts.flat());
}

const jsonContentType = fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8');

/**
 * Requests to one REST route: path ids of real rows (the caller's, another organization's, never
 * issued) or junk, query strings, and bodies. `shaped` bodies follow the route's schema with
 * hostile values and edits; otherwise any JSON value at all, or text that does not parse.
 */
export function restCase(route: RestRoute, bodies: 'shaped' | 'anything'): fc.Arbitrary<RestCase> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');
  const params = fc.record(Object.fromEntries(names.map((name) => [name, paramArbitrary(route, name)])));
  const shape = route.body ? shapeOfZod(route.body) : null;
  const base = shape ? plausible(shape, '', { typed: false }) : hostileJson;
  const body: fc.Arbitrary<unknown> =
    bodies === 'shaped'
      ? shape
        ? fc.oneof({ weight: 3, arbitrary: base }, { weight: 6, arbitrary: edited(base) }, { weight: 1, arbitrary: brokenJson(base) })
        : fc.oneof({ weight: 4, arbitrary: fc.constant(NO_BODY) }, { weight: 1, arbitrary: fc.constant(new RawJson('', 'empty')) }, { weight: 1, arbitrary: fc.constant({}) })
      : fc.oneof({ weight: 4, arbitrary: hostileJson }, { weight: 2, arbitrary: hostileScalar }, { weight: 1, arbitrary: brokenJson(base) }, { weight: 1, arbitrary: fc.constant(NO_BODY) });
  return fc.record({ params, query: queryArbitrary(route), body, contentType: jsonContentType, headers: headerCase }).map(({ headers, ...rest }) => ({ ...rest, ...headers }));
}

/** Slots that name one row for the whole request (not items of a batch, which fail one by one). */
function slotsOutsideLists(value: unknown): IdSlot[] {
  if (value instanceof IdSlot) return [value];
  if (Array.isArray(value) || value instanceof RawJson || typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(slotsOutsideLists);
}

async function exchange(request: SentRequest, world: FuzzWorld, check: (reply: HttpReply) => Outcome, slots: IdSlot[]): Promise<void> {
  const before = await world.digest();
  const reply = await send(world, request);
  try {
    const outcome = check(reply);
    if (slots.some((slot) => slot.owner !== 'own')) expect(outcome, 'an id of another organization or of no row is never written to').toBe('rejected');
    if (outcome === 'rejected') expect(await world.digest(), 'a rejected request changes nothing in the database').toEqual(before);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${describeExchange(request, reply)}\n${message}`);
  }
}

/** Sends one generated REST request and checks the contract of its answer and the database after it. */
export async function runRestCase(world: FuzzWorld, route: RestRoute, generated: RestCase): Promise<void> {
  const segments: Record<string, string> = {};
  let sourceId: number | undefined;
  const slots = [...Object.values(generated.params).filter((segment) => segment instanceof IdSlot), ...slotsOutsideLists(generated.body)];
  for (const [name, segment] of Object.entries(generated.params)) {
    if (segment instanceof IdSlot) {
      const id = await world.resolveId(segment, sourceId === undefined ? {} : { sourceId });
      if (segment.table === 'feedback_source') sourceId = id;
      segments[name] = String(id);
    } else {
      segments[name] = segment instanceof RawJson ? segment.text : encodeSegment(segment);
    }
  }
  const query = generated.query.map(([key, value]) => `${encodeSegment(key)}=${encodeSegment(value)}`).join('&');
  const path = `/v3/rest${route.path.replace(/\{(\w+)\}/g, (_match, name: string) => segments[name] ?? '')}${query ? `?${query}` : ''}`;
  const body = generated.body === NO_BODY ? undefined : toJsonText(await resolveIds(generated.body, (slot) => world.resolveId(slot)));
  const headers = headersOf(world.token, generated, body === undefined ? null : generated.contentType);
  const echoed = generated.requestId !== null && CLIENT_REQUEST_ID.test(generated.requestId) ? generated.requestId : null;
  await exchange({ method: route.method, path, headers, ...(body === undefined ? {} : { body }) }, world, (reply) => expectRestContract(route, reply, echoed), slots);
}

export interface GraphQLCase extends Headers {
  variables: unknown;
}

/**
 * Variables for one mutation. `typed` ones have the declared GraphQL types (so they reach the
 * resolvers) with hostile contents; otherwise edited into wrong types, unknown and missing fields.
 */
export function graphqlCase(mutation: MutationUnderTest, variables: 'typed' | 'anything'): fc.Arbitrary<GraphQLCase> {
  const base = plausible(mutation.variables, '', { typed: true });
  const values = variables === 'typed' ? base : fc.oneof({ weight: 5, arbitrary: edited(base) }, { weight: 1, arbitrary: hostileJson });
  return fc.record({ variables: values, headers: headerCase }).map(({ variables: generated, headers }) => ({ variables: generated, ...headers }));
}

/** Sends one mutation with generated variables and checks the contract of its answer and the database after it. */
export async function runGraphQLCase(world: FuzzWorld, mutation: MutationUnderTest, generated: GraphQLCase): Promise<void> {
  // Sources first, so that a record id can be one of the source named beside it.
  let sourceId: number | undefined;
  const resolve = async (slot: IdSlot) => {
    const id = await world.resolveId(slot, sourceId === undefined ? {} : { sourceId });
    if (slot.table === 'feedback_source') sourceId = id;
    return id;
  };
  const variables = generated.variables;
  const ordered =
    typeof variables === 'object' && variables !== null && !Array.isArray(variables) && !(variables instanceof RawJson)
      ? Object.fromEntries(Object.entries(variables).sort(([a], [b]) => Number(b === 'sourceId') - Number(a === 'sourceId')))
      : variables;
  const resolved = await resolveIds(ordered, resolve);
  const body = `{"query":${JSON.stringify(mutation.document)},"variables":${toJsonText(resolved)}}`;
  const headers = { ...headersOf(world.token, generated, 'application/json'), accept: 'application/graphql-response+json' };
  await exchange({ method: 'POST', path: '/graphql', headers, body }, world, (reply) => expectGraphQLContract(mutation.field, reply), slotsOutsideLists(variables));
}
