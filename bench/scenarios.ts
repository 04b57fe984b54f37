import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type autocannon from 'autocannon';
import { type ExampleRecord, exampleRecords } from './examples.ts';
import type { Seeded } from './seed.ts';

/** Replaced in a scenario's body and headers by a value unique to each request (load.ts). */
export const PLACEHOLDER = '__UNIQUE__';

/** One request of a scenario; `__UNIQUE__` in its body and headers is replaced per request (load.ts). */
export interface ScenarioRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  /** JSON text. */
  body?: string;
}

/**
 * One fixed load: `connections` clients sending the scenario's requests back to back (each client
 * cycles through them in order) for a fixed duration.
 */
export interface Scenario {
  name: string;
  /** Which server it loads. */
  target: 'gateway' | 'floor';
  requests: ScenarioRequest[];
  /** Records written or read per request, for records/s; null for a mix. */
  recordsPerRequest: number | null;
  /** The floor scenario this one is compared with (ratio of requests/s at the same connections). */
  floor?: string;
  /**
   * `base`: on the seeded table; `grown`: after the table grew by more records (run.ts inserts them
   * first); `overload`: at many more connections than the pool serves.
   */
  phase: 'base' | 'grown' | 'overload';
}

export interface BenchContext extends Seeded {
  token: string;
  /** How many records the `grown` phase adds, for its scenario names. */
  grownBy: number;
}

export interface LoadOptions {
  connections: number;
  duration: number;
}

/** What the load generator saw, beside autocannon's own figures: answers by outcome ("2xx", "503 SERVICE_OVERLOADED", "200 error body", …). */
export interface LoadOutcome {
  result: autocannon.Result;
  outcomes: Record<string, number>;
}

export const BATCH_SIZE = 100;
export const READ_PAGE = 100;

const RECORD_FIELDS = 'id sourceId personId externalId displayTs fields { category type name value } createdAt';
const INGEST_RECORD = `mutation IngestRecord($sourceId: ID!, $input: IngestRecordInput!) {
  ingestRecord(sourceId: $sourceId, input: $input) { __typename ... on Error { code message } ... on IngestRecordSuccess { record { ${RECORD_FIELDS} } } }
}`;
const INGEST_RECORDS = `mutation IngestRecords($sourceId: ID!, $records: [IngestRecordInput!]!) {
  ingestRecords(sourceId: $sourceId, records: $records) {
    __typename ... on Error { code message }
    ... on IngestRecordsSuccess { ingestedCount failedCount results { __typename ... on Error { code message } ... on IngestRecordSuccess { record { id externalId } } } }
  }
}`;
export const READ_RECORDS = `query ReadRecords($sourceId: ID!, $first: Int!) {
  records(sourceId: $sourceId, first: $first) {
    edges { node { id displayTs fields { name value } source { name } person { email company { name } } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** A dashboard's filtered read: a numeric field predicate and a month of displayTs, with the count. */
export const FILTERED_READ = `query FilteredRead($filter: FeedbackRecordFilter!, $first: Int!) {
  records(filter: $filter, first: $first) { totalCount nodes { id displayTs fields { name value } source { name } } pageInfo { hasNextPage endCursor } }
}`;
/** A ranked full-text search of the content fields. */
export const SEARCH_RECORDS = `query SearchRecords($search: String!, $first: Int!) {
  records(search: $search, first: $first) { totalCount nodes { id fields { name value } } pageInfo { hasNextPage endCursor } }
}`;
/** Records tagged export per week in a time zone. */
export const WEEKLY_STATS = `query WeeklyStats($filter: FeedbackRecordFilter!) {
  recordStats(filter: $filter, groupBy: [WEEK], field: "nps_score", timeZone: "Europe/Berlin") { truncated groups { key { period } count avg } }
}`;

/**
 * The scenarios of the issues, each gateway one after its floor: the reads and the dashboard reads first, on
 * the seeded table as it is, then the ingests (which grow it); then ingest again on a grown table; then overload.
 */
export function buildScenarios(context: BenchContext): Scenario[] {
  const examples = exampleRecords();
  const personAt = (i: number) => context.personIds[(i * 37) % context.personIds.length] as number;
  const exampleAt = (i: number) => examples[i % examples.length] as ExampleRecord;
  const restRecord = (i: number, externalId: string) => ({ person_id: personAt(i), external_id: externalId, display_ts: exampleAt(i).display_ts, fields: exampleAt(i).fields });
  const graphqlRecord = (i: number, externalId: string) => ({ personId: personAt(i), externalId, displayTs: exampleAt(i).display_ts, fields: exampleAt(i).fields });
  const batch = <T>(make: (i: number, externalId: string) => T) => Array.from({ length: BATCH_SIZE }, (_, i) => make(i, `bench-${PLACEHOLDER}-${i}`));

  const json = { 'content-type': 'application/json', accept: 'application/json' };
  const authed = { ...json, 'x-api-token': context.token };
  const graphqlPost = (query: string, variables: Record<string, unknown>): ScenarioRequest => ({ method: 'POST', path: '/graphql', headers: authed, body: JSON.stringify({ query, variables }) });
  const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
  const grown = `, +${context.grownBy.toLocaleString('en-US')} rows`;

  const floorInsert: ScenarioRequest = { method: 'POST', path: '/records', headers: json, body: JSON.stringify(restRecord(0, `bench-${PLACEHOLDER}`)) };
  const restIngest: ScenarioRequest = {
    method: 'POST',
    path: `/v3/rest/feedback-sources/${context.ingestSourceId}/records`,
    headers: authed,
    body: JSON.stringify(restRecord(0, `bench-${PLACEHOLDER}`)),
  };
  const restList: ScenarioRequest = {
    method: 'GET',
    path: `/v3/rest/feedback-sources/${context.readSourceId}/records?limit=${READ_PAGE}`,
    headers: { accept: 'application/json', 'x-api-token': context.token },
  };
  const restGet: ScenarioRequest = {
    method: 'GET',
    path: `/v3/rest/feedback-sources/${context.readSourceId}/records/${context.readRecordId}`,
    headers: { accept: 'application/json', 'x-api-token': context.token },
  };

  return [
    {
      name: `floor: SELECT ${READ_PAGE} records+joins`,
      target: 'floor',
      phase: 'base',
      requests: [{ method: 'GET', path: `/records?limit=${READ_PAGE}`, headers: { accept: 'application/json' } }],
      recordsPerRequest: READ_PAGE,
    },
    {
      name: `GraphQL read ${READ_PAGE} (source, person, company)`,
      target: 'gateway',
      phase: 'base',
      requests: [graphqlPost(READ_RECORDS, { sourceId: context.readSourceId, first: READ_PAGE })],
      recordsPerRequest: READ_PAGE,
      floor: `floor: SELECT ${READ_PAGE} records+joins`,
    },
    { name: `REST list ${READ_PAGE} records`, target: 'gateway', phase: 'base', requests: [restList], recordsPerRequest: READ_PAGE, floor: `floor: SELECT ${READ_PAGE} records+joins` },
    {
      name: `GraphQL filtered read ${READ_PAGE} (nps_score < 7, last 30 days, totalCount)`,
      target: 'gateway',
      phase: 'base',
      requests: [
        graphqlPost(FILTERED_READ, { first: READ_PAGE, filter: { displayTs: { gte: daysAgo(30) }, fields: [{ name: 'nps_score', lt: 7 }] } }),
      ],
      recordsPerRequest: READ_PAGE,
    },
    {
      name: `GraphQL search ${READ_PAGE} ("sso", ranked, totalCount)`,
      target: 'gateway',
      phase: 'base',
      requests: [graphqlPost(SEARCH_RECORDS, { search: 'sso', first: READ_PAGE })],
      recordsPerRequest: READ_PAGE,
    },
    {
      name: 'GraphQL recordStats by week (tagged export, last 90 days, Europe/Berlin)',
      target: 'gateway',
      phase: 'base',
      requests: [
        graphqlPost(WEEKLY_STATS, { filter: { displayTs: { gte: daysAgo(90) }, fields: [{ name: 'tags', contains: ['export'] }] } }),
      ],
      recordsPerRequest: null,
    },
    { name: 'floor: INSERT 1 record', target: 'floor', phase: 'base', requests: [floorInsert], recordsPerRequest: 1 },
    { name: 'REST ingest 1 record, no key', target: 'gateway', phase: 'base', requests: [restIngest], recordsPerRequest: 1, floor: 'floor: INSERT 1 record' },
    {
      name: 'REST ingest 1 record, Idempotency-Key',
      target: 'gateway',
      phase: 'base',
      requests: [{ ...restIngest, headers: { ...authed, 'idempotency-key': `bench-${PLACEHOLDER}` } }],
      recordsPerRequest: 1,
      floor: 'floor: INSERT 1 record',
    },
    {
      name: 'GraphQL ingestRecord',
      target: 'gateway',
      phase: 'base',
      requests: [graphqlPost(INGEST_RECORD, { sourceId: context.ingestSourceId, input: graphqlRecord(1, `bench-${PLACEHOLDER}`) })],
      recordsPerRequest: 1,
      floor: 'floor: INSERT 1 record',
    },
    {
      name: `floor: INSERT ${BATCH_SIZE} records`,
      target: 'floor',
      phase: 'base',
      requests: [{ method: 'POST', path: '/records', headers: json, body: JSON.stringify({ records: batch(restRecord) }) }],
      recordsPerRequest: BATCH_SIZE,
    },
    {
      name: `GraphQL ingestRecords x${BATCH_SIZE}`,
      target: 'gateway',
      phase: 'base',
      requests: [graphqlPost(INGEST_RECORDS, { sourceId: context.ingestSourceId, records: batch(graphqlRecord) })],
      recordsPerRequest: BATCH_SIZE,
      floor: `floor: INSERT ${BATCH_SIZE} records`,
    },
    { name: `floor: INSERT 1 record${grown}`, target: 'floor', phase: 'grown', requests: [floorInsert], recordsPerRequest: 1 },
    { name: `REST ingest 1 record, no key${grown}`, target: 'gateway', phase: 'grown', requests: [restIngest], recordsPerRequest: 1, floor: `floor: INSERT 1 record${grown}` },
    { name: 'overload: REST list, get, ingest', target: 'gateway', phase: 'overload', requests: [restList, restGet, restIngest], recordsPerRequest: null },
  ];
}

/**
 * Runs one scenario with autocannon in a child process (load.ts), so that the load generator shares
 * neither the CPU figures nor the memory of the servers it measures. `onStart` runs once the child is
 * up, just before the load starts: spawning it is no part of what is measured.
 */
export async function runLoad(scenario: Scenario, baseUrl: string, load: LoadOptions, onStart: () => Promise<void> | void = () => {}): Promise<LoadOutcome> {
  const child = fork(fileURLToPath(new URL('./load.ts', import.meta.url)), { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return await new Promise((resolve, reject) => {
    child.on('message', (message: { ready?: boolean; outcome?: LoadOutcome; error?: string }) => {
      if (message.ready) {
        Promise.resolve(onStart())
          .then(() => child.send({ scenario, baseUrl, load }))
          .catch(reject);
      } else if (message.outcome) resolve(message.outcome);
      else reject(new Error(`load: ${message.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load: exited with ${code} before answering`)));
  });
}

/** Each request of the scenario sent once as the load would send it: a broken scenario stops the run before measuring it. */
export async function smokeTest(scenario: Scenario, baseUrl: string): Promise<void> {
  for (const request of scenario.requests) {
    const unique = `smoke-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, value.replaceAll(PLACEHOLDER, unique)]));
    const response = await fetch(baseUrl + request.path, { method: request.method, headers, ...(request.body === undefined ? {} : { body: request.body.replaceAll(PLACEHOLDER, unique) }) });
    const body = await response.text();
    if (response.status >= 300 || /"errors":|"code":|"error":/.test(body)) {
      throw new Error(`${scenario.name}: the smoke request ${request.method} ${request.path} failed with ${response.status}: ${body.slice(0, 500)}`);
    }
  }
}
