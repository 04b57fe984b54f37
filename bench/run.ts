/**
 * `npm run bench`: the gateway's throughput against a hand-written floor, on a fresh embedded
 * PostgreSQL with rate limits off. Not a test: it reports figures and never fails on them.
 *
 * One process runs the gateway (buildApp, as src/main.ts does) and the floor (floor.ts) on two free
 * loopback ports, both on this thread; autocannon runs each scenario from a child process (load.ts).
 * Every scenario is checked with one request, warmed up, then measured; SQL statements are counted at
 * the driver, per request. The table goes to stdout and is appended to bench/RESULTS.md.
 *
 * Environment (all optional): BENCH_CONNECTIONS (10), BENCH_DURATION seconds per scenario (8),
 * BENCH_WARMUP seconds (1), BENCH_ONLY (comma-separated parts of scenario names, e.g. "REST ingest,floor: INSERT 1"),
 * BENCH_RECORD=0 (print only; do not append to RESULTS.md), BENCH_PROFILE=<dir> (writes a V8 CPU profile
 * of this thread for each measured run, as `node --cpu-prof` would but without start-up and seeding,
 * to <dir>/<scenario>.cpuprofile; summarise with bench/profile-top.ts; implies BENCH_RECORD=0).
 */
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { startEmbeddedDatabase } from '../src/database/embedded.ts';
import { connectOrm, migrate } from '../src/database/orm.ts';
import { scopes } from '../src/organizations/scopes.ts';
import { createApiKey } from '../src/organizations/tokens.ts';
import { type Floor, startFloor } from './floor.ts';
import { BATCH_SIZE, type BenchContext, buildScenarios, exampleRecords, READ_PAGE, runLoad, type Scenario, smokeTest } from './scenarios.ts';
import { installSqlCounter, requestStatements, type SqlCounter } from './sql-count.ts';

const RESULTS_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const SEED_PEOPLE = 20;
const SEED_COMPANIES = 8;
const SEED_RECORDS = 300;

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

const load = { connections: envNumber('BENCH_CONNECTIONS', 10), duration: envNumber('BENCH_DURATION', 8) };
const warmup = envNumber('BENCH_WARMUP', 1);
const only = (process.env.BENCH_ONLY ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean);
const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : null;
// Profiling slows the server down: its figures are not results.
const record = process.env.BENCH_RECORD !== '0' && profileDir === null;
const progress = (line: string) => process.stderr.write(`${line}\n`);
const fixed = (value: number, digits: number) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every request a server receives, with the SQL statements sent on its behalf: the server's handlers
 * run inside requestStatements (AsyncLocalStorage), which the statement counter reads. Requests the
 * load generator cut off at the end of a run (not finished) are left out of the per-request figures.
 */
interface CountedRequest {
  statements: number;
  finished: boolean;
}
interface Traffic {
  open: number;
  requests: CountedRequest[];
}
function track(server: http.Server): Traffic {
  const traffic: Traffic = { open: 0, requests: [] };
  const handlers = server.listeners('request') as ((request: http.IncomingMessage, response: http.ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
    const counted = { statements: 0, finished: false };
    traffic.requests.push(counted);
    traffic.open += 1;
    response.once('close', () => {
      traffic.open -= 1;
      counted.finished = response.writableFinished;
    });
    requestStatements.run(counted, () => {
      for (const handler of handlers) handler.call(server, request, response);
    });
  });
  return traffic;
}

/** Waits until the connections of a run are done, then a little longer for handlers still running for a request whose client went away. */
async function settle(traffic: Traffic): Promise<void> {
  const deadline = Date.now() + 5000;
  while (traffic.open > 0 && Date.now() < deadline) await sleep(10);
  await sleep(500);
}

interface Profiler {
  stop(file: string): Promise<string>;
}

/** A CPU profile of this thread (the gateway and the floor), for the measured run only. */
async function startProfiler(): Promise<Profiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(profile));
      return file;
    },
  };
}

interface Row {
  scenario: Scenario;
  requestsPerSecond: number;
  recordsPerSecond: number;
  p50: number;
  p99: number;
  ratio: number | null;
  /** CPU time of this process (the servers; the load runs elsewhere) per request, in ms: steadier than requests/s on a shared machine. */
  cpuPerRequest: number;
  statementsPerRequest: number;
  maxStatements: number;
  rssMb: number;
  heapMb: number;
  failures: number;
  shapes: { shape: string; perRequest: number }[];
}

/** The organization's sources, people (with companies) and the records the reads return, created through the gateway's own API. */
async function seed(gatewayUrl: string, token: string): Promise<Omit<BenchContext, 'token'>> {
  async function call<T>(method: string, route: string, body: unknown): Promise<T> {
    const response = await fetch(gatewayUrl + route, { method, headers: { 'content-type': 'application/json', 'x-api-token': token }, body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`seeding: ${method} ${route} answered ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
  const ingestSource = await call<{ id: number }>('POST', '/v3/rest/feedback-sources', { name: 'Bench ingest', type: 'api', description: 'Records written by the benchmark' });
  const readSource = await call<{ id: number }>('POST', '/v3/rest/feedback-sources', { name: 'Zendesk Support Tickets', type: 'support_tickets', description: 'Tickets synced hourly from Zendesk' });
  const personIds: number[] = [];
  for (let i = 0; i < SEED_PEOPLE; i++) {
    const company = i % SEED_COMPANIES;
    const person = await call<{ id: number }>('PUT', '/v3/rest/people', {
      email: `person${i}@company${company}.example`,
      external_id: `crm-${i}`,
      first_name: `First${i}`,
      last_name: `Last${i}`,
      phone: `+3491234${String(5000 + i).padStart(4, '0')}`,
      company: { name: `Company ${company}`, domain: `company${company}.example` },
    });
    personIds.push(person.id);
  }
  const examples = exampleRecords();
  const seedStart = Date.parse('2025-03-14T09:00:00Z');
  for (let offset = 0; offset < SEED_RECORDS; offset += 100) {
    const records = Array.from({ length: Math.min(100, SEED_RECORDS - offset) }, (_, j) => {
      const i = offset + j;
      const example = examples[i % examples.length] as (typeof examples)[number];
      return { personId: personIds[i % personIds.length], externalId: `seed-${i}`, displayTs: new Date(seedStart + i * 60_000).toISOString(), fields: example.fields };
    });
    const result = await call<{ data?: { ingestRecords?: { ingestedCount?: number } } }>('POST', '/graphql', {
      query: 'mutation($sourceId: ID!, $records: [IngestRecordInput!]!) { ingestRecords(sourceId: $sourceId, records: $records) { ... on IngestRecordsSuccess { ingestedCount } } }',
      variables: { sourceId: readSource.id, records },
    });
    if (result.data?.ingestRecords?.ingestedCount !== records.length) throw new Error(`seeding records failed: ${JSON.stringify(result).slice(0, 300)}`);
  }
  return { ingestSourceId: ingestSource.id, readSourceId: readSource.id, personIds };
}

/** Checks the scenario with one request, warms it up, then measures it. */
async function measure(scenario: Scenario, baseUrl: string, traffic: Traffic, sql: SqlCounter): Promise<Row> {
  const smoke = await smokeTest(scenario, baseUrl);
  if (smoke.status >= 300 || /"errors":|"code":|"error":/.test(smoke.body)) throw new Error(`${scenario.name}: the smoke request failed with ${smoke.status}: ${smoke.body.slice(0, 500)}`);

  progress(`bench: ${scenario.name} — warm-up ${warmup} s, then ${load.duration} s at ${load.connections} connections`);
  await runLoad(scenario, baseUrl, { connections: load.connections, duration: warmup });
  await settle(traffic);
  sql.reset();
  traffic.requests = [];

  const started: { profiler: Profiler | null; cpu: NodeJS.CpuUsage } = { profiler: null, cpu: process.cpuUsage() };
  const result = await runLoad(scenario, baseUrl, load, async () => {
    started.profiler = profileDir ? await startProfiler() : null;
    started.cpu = process.cpuUsage();
  });
  const cpu = process.cpuUsage(started.cpu);
  await settle(traffic);
  if (started.profiler && profileDir) {
    progress(`  profile: ${await started.profiler.stop(path.join(profileDir, `${scenario.name.replace(/\W+/g, '-').replace(/^-|-$/g, '')}.cpuprofile`))}`);
  }

  const finished = traffic.requests.filter((request) => request.finished);
  const served = finished.length;
  // With --expose-gc (npm run bench), memory is what the server keeps alive, not garbage awaiting collection.
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const requestsPerSecond = result.requests.total / result.duration;
  const row: Row = {
    scenario,
    requestsPerSecond,
    recordsPerSecond: requestsPerSecond * scenario.recordsPerRequest,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ratio: null,
    cpuPerRequest: served > 0 ? (cpu.user + cpu.system) / 1000 / served : 0,
    statementsPerRequest: served > 0 ? finished.reduce((sum, request) => sum + request.statements, 0) / served : 0,
    maxStatements: finished.reduce((max, request) => Math.max(max, request.statements), 0),
    rssMb: memory.rss / 2 ** 20,
    heapMb: memory.heapUsed / 2 ** 20,
    failures: result.non2xx + result.mismatches + result.errors,
    // Over every statement of the run, cut-off requests included: per request, about.
    shapes: sql.shapes(12).map(({ shape, count }) => ({ shape, perRequest: served > 0 ? count / served : 0 })),
  };
  progress(`  ${fixed(row.requestsPerSecond, 0)} req/s, p50 ${row.p50} ms, ${fixed(row.cpuPerRequest, 2)} ms CPU and ${fixed(row.statementsPerRequest, 2)} statements per request (max ${row.maxStatements})`);
  for (const { shape, perRequest } of row.shapes) if (perRequest >= 0.01) progress(`    ${fixed(perRequest, 2)}× ${shape}`);
  return row;
}

const columns: { title: string; right: boolean; cell: (row: Row) => string }[] = [
  { title: 'scenario', right: false, cell: (row) => row.scenario.name },
  { title: 'req/s', right: true, cell: (row) => fixed(row.requestsPerSecond, 0) },
  { title: 'records/s', right: true, cell: (row) => fixed(row.recordsPerSecond, 0) },
  { title: 'p50 ms', right: true, cell: (row) => fixed(row.p50, 1) },
  { title: 'p99 ms', right: true, cell: (row) => fixed(row.p99, 1) },
  { title: 'vs floor', right: true, cell: (row) => (row.ratio === null ? (row.scenario.target === 'floor' ? 'floor' : '—') : `${fixed(row.ratio * 100, 0)}%`) },
  { title: 'CPU ms/req', right: true, cell: (row) => fixed(row.cpuPerRequest, 2) },
  { title: 'SQL/req (max)', right: true, cell: (row) => `${fixed(row.statementsPerRequest, 2)} (${row.maxStatements})` },
  { title: 'RSS MB', right: true, cell: (row) => fixed(row.rssMb, 0) },
  { title: 'heap MB', right: true, cell: (row) => fixed(row.heapMb, 0) },
  { title: 'failed', right: true, cell: (row) => String(row.failures) },
];

/** One aligned table, readable on a terminal and as Markdown. */
function renderTable(rows: Row[]): string {
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, i) => Math.max(column.title.length, ...cells.map((line) => (line[i] as string).length)));
  const line = (values: string[]) => `| ${values.map((value, i) => (columns[i]?.right ? value.padStart(widths[i] as number) : value.padEnd(widths[i] as number))).join(' | ')} |`;
  const rule = `|${widths.map((width, i) => (columns[i]?.right ? `${'-'.repeat(width + 1)}:` : `:${'-'.repeat(width + 1)}`)).join('|')}|`;
  return [line(columns.map((column) => column.title)), rule, ...cells.map(line)].join('\n');
}

function renderTargets(rows: Row[]): string[] {
  const byName = (part: string) => rows.find((row) => row.scenario.name.startsWith(part));
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  const targets: string[] = [];
  const restIngest = byName('REST ingest');
  if (restIngest?.ratio != null) targets.push(`- REST ingest ≥ 60% of the floor's requests/s: ${fixed(restIngest.ratio * 100, 0)}% — ${verdict(restIngest.ratio >= 0.6)}`);
  const read = byName('GraphQL read');
  if (read) {
    targets.push(`- GraphQL read of ${READ_PAGE} ≤ 4 SQL statements: ${fixed(read.statementsPerRequest, 2)} per request, at most ${read.maxStatements} — ${verdict(read.maxStatements <= 4)}`);
    if (read.ratio != null) targets.push(`- GraphQL read of ${READ_PAGE} ≥ 50% of the floor's requests/s: ${fixed(read.ratio * 100, 0)}% — ${verdict(read.ratio >= 0.5)}`);
  }
  const batch = byName('GraphQL ingestRecords');
  if (batch) targets.push(`- ingestRecords (x${BATCH_SIZE}) ≥ 10,000 records/s: ${fixed(batch.recordsPerSecond, 0)} — ${verdict(batch.recordsPerSecond >= 10_000)}`);
  return targets;
}

/** Which code was measured: the commit, and whether src/ differed from it. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' }).trim();
    return `commit ${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'commit unknown';
  }
}

// ---------------------------------------------------------------- the run
const started = Date.now();
const loadBefore = os.loadavg()[0] ?? 0;
const sql = installSqlCounter();
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-bench-'));
progress(`bench: embedded PostgreSQL in ${dataDir}`);
const database = await startEmbeddedDatabase(dataDir);
const orm = await connectOrm(database.url);
const config = loadConfig({ DATABASE_URL: database.url, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent' });
const app = await buildApp(config, orm);
let floor: Floor | null = null;
try {
  await migrate(orm);
  const { token, organization } = await createApiKey(orm.em.fork(), 'bench', scopes, null);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const gatewayUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  progress('bench: seeding');
  const context: BenchContext = { token, ...(await seed(gatewayUrl, token)) };
  floor = await startFloor({ databaseUrl: database.url, organizationId: organization.id, ingestSourceId: context.ingestSourceId, readSourceId: context.readSourceId });
  const servers = { gateway: { url: gatewayUrl, traffic: track(app.server) }, floor: { url: floor.url, traffic: track(floor.server) } };
  const { rows: versionRows } = await floor.pool.query<{ version: string }>('select version() as "version"');
  const postgresVersion = (versionRows[0]?.version ?? 'PostgreSQL ?').split(',')[0] as string;

  const rows: Row[] = [];
  for (const scenario of buildScenarios(context)) {
    if (only.length > 0 && !only.some((part) => scenario.name.toLowerCase().includes(part))) continue;
    const server = servers[scenario.target];
    rows.push(await measure(scenario, server.url, server.traffic, sql));
  }
  for (const row of rows) {
    const floorRow = rows.find((other) => other.scenario.name === row.scenario.floor);
    row.ratio = floorRow ? row.requestsPerSecond / floorRow.requestsPerSecond : null;
  }

  const table = renderTable(rows);
  const targets = renderTargets(rows);
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${fixed(os.totalmem() / 2 ** 30, 1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}; Node ${process.version}; ${postgresVersion}`;
  // Other work on the machine moves requests/s a lot (CPU ms/req much less): say how busy it was.
  const busy = `1-minute load average ${fixed(loadBefore, 2)} before the run, ${fixed(os.loadavg()[0] ?? 0, 2)} after`;
  const code = codeVersion();
  process.stdout.write(`\n${table}\n\n${targets.join('\n')}\n\n${machine}; ${busy}; ${code}\n`);

  if (record) {
    const method =
      `${code}; ${load.connections} connections, ${load.duration} s per scenario after a ${warmup} s warm-up; autocannon in a child process; gateway and floor in one process; ${busy}. ` +
      'CPU ms/req: CPU time of the server process during the run ÷ finished requests. SQL/req: statements sent on behalf of each finished request, mean (max). ' +
      'RSS and heap used: the server process after the scenario and a full GC. failed: non-2xx responses, error bodies and connection errors.';
    const statements = rows
      .filter((row) => row.scenario.target === 'gateway')
      .map((row) => `- ${row.scenario.name}\n${row.shapes.filter((shape) => shape.perRequest >= 0.01).map((shape) => `  - ${fixed(shape.perRequest, 2)}× \`${shape.shape}\``).join('\n')}`)
      .join('\n');
    const details = statements ? `\n\n<details><summary>SQL statements per request, by shape</summary>\n\n${statements}\n\n</details>` : '';
    await appendFile(RESULTS_FILE, `\n## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — ${machine}\n\n${method}\n\n${table}\n\n${targets.join('\n')}${details}\n`);
    progress(`bench: appended to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  }
} finally {
  sql.uninstall();
  await floor?.close();
  await app.close();
  await orm.close();
  await database.stop();
  await rm(dataDir, { recursive: true, force: true });
  progress(`bench: done in ${Math.round((Date.now() - started) / 1000)} s`);
}
