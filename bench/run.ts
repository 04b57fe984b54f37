/**
 * `npm run bench`: the gateway's throughput against a hand-written floor, on a fresh embedded
 * PostgreSQL seeded at realistic volume, rate limits off. Not a test: it reports figures and never
 * fails on them.
 *
 * The bench seeds the database with SQL (seed.ts), then starts the gateway as `npm start` does
 * (package.json's start script, servers.ts) and the floor (floor.ts), each in a process of its own; autocannon
 * runs each scenario from a child process (load.ts). Every scenario is checked with one request per
 * kind, warmed up, then measured at each number of connections. Per request: the server process's CPU
 * and the PostgreSQL cluster's CPU (/proc, process-stats.ts) and the statements PostgreSQL ran
 * (pg_stat_statements, sql-count.ts). The table goes to stdout and is appended to bench/RESULTS.md.
 *
 * Environment (all optional): BENCH_CONNECTIONS (comma-separated, "10,32"), BENCH_OVERLOAD_CONNECTIONS
 * (200), BENCH_DURATION seconds per measured run (20), BENCH_WARMUP seconds (5), BENCH_RECORDS records
 * seeded (200000; the grown phase adds half as many), BENCH_ONLY (comma-separated parts of scenario
 * names, e.g. "REST ingest,floor: INSERT 1"), BENCH_RECORD=0 (print only; do not append to RESULTS.md),
 * BENCH_PROFILE=<dir> (the gateway writes a V8 CPU profile of its whole life to <dir> when it stops;
 * summarise with bench/profile-top.ts; implies BENCH_RECORD=0).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import ormConfig from '../mikro-orm.config.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../src/database/embedded.ts';
import { connectOrm, migrate } from '../src/database/orm.ts';
import { scopes } from '../src/organizations/scopes.ts';
import { createApiKey } from '../src/organizations/tokens.ts';
import { clusterCpuMs, processCpuMs, rssMib } from './process-stats.ts';
import { BATCH_SIZE, type BenchContext, buildScenarios, READ_PAGE, runLoad, type Scenario, smokeTest } from './scenarios.ts';
import { insertSeedRecords, SEED_COMPANIES, SEED_PEOPLE, SEED_SOURCES, seed } from './seed.ts';
import { type ServerProcess, startFloorProcess, startGateway, startLaunch } from './servers.ts';
import { createMonitor, MONITOR_ROLE, preloadStatementStatistics, StatementCounter, type StatementStats, shapeOf } from './sql-count.ts';

const RESULTS_FILE = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
/** The issue's targets are stated at this many connections. */
const TARGET_CONNECTIONS = 32;

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}
function envNumbers(name: string, fallback: string): number[] {
  const values = (process.env[name] || fallback).split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value <= 0)) throw new Error(`${name} must be a comma-separated list of positive integers`);
  return values;
}

const connectionCounts = envNumbers('BENCH_CONNECTIONS', '10,32');
const overloadConnections = envNumber('BENCH_OVERLOAD_CONNECTIONS', 200);
const duration = envNumber('BENCH_DURATION', 20);
const warmup = envNumber('BENCH_WARMUP', 5);
const seedRecords = Math.round(envNumber('BENCH_RECORDS', 200_000));
const grownBy = Math.round(seedRecords / 2);
const poolSize = ormConfig.pool?.max ?? 10;
const only = (process.env.BENCH_ONLY ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean);
const profileDir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : null;
// Profiling slows the server down: its figures are not results.
const record = process.env.BENCH_RECORD !== '0' && profileDir === null;
const targetConnections = connectionCounts.includes(TARGET_CONNECTIONS) ? TARGET_CONNECTIONS : Math.max(...connectionCounts);
const launch = startLaunch();
const launchCommand = [...Object.entries(launch.env).map(([name, value]) => `${name}=${value}`), 'node', ...launch.nodeArgs, launch.script].join(' ');

const progress = (line: string) => process.stderr.write(`${line}\n`);
const fixed = (value: number, digits: number) => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const percent = (value: number) => `${fixed(value * 100, 0)}%`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: number) => fixed((Date.now() - since) / 1000, 1);

interface Row {
  scenario: Scenario;
  connections: number;
  /** Requests sent during the run: the denominator of the per-request figures. */
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  recordsPerSecond: number | null;
  /** Of 2xx answers only (autocannon leaves other answers out of its latencies). */
  p50: number;
  p99: number;
  ratio: number | null;
  /** CPU time of the loaded server's process during the run ÷ requests, ms. */
  serverCpuPerRequest: number;
  /** CPU time of every process of the PostgreSQL cluster during the run ÷ requests, ms. */
  postgresCpuPerRequest: number;
  statementsPerRequest: number;
  statements: StatementStats[];
  /** Answers by outcome ("2xx", "503 SERVICE_OVERLOADED", …), plus connection errors and timeouts. */
  outcomes: Record<string, number>;
  failures: number;
  /** The loaded server's RSS after the run. */
  rssMib: number;
  /** feedback_record's live rows after the run (PostgreSQL's statistics: close, not exact). */
  tableRows: number;
}

interface Servers {
  gateway: ServerProcess;
  floor: ServerProcess;
}

class Bench {
  readonly #monitor: pg.Client;
  readonly #statements: StatementCounter;
  readonly #postmasterPid: number;

  constructor(monitor: pg.Client, postmasterPid: number) {
    this.#monitor = monitor;
    this.#statements = new StatementCounter(monitor);
    this.#postmasterPid = postmasterPid;
  }

  get statements(): StatementCounter {
    return this.#statements;
  }

  /** Waits until no statement of the servers runs any more (a run's last requests), then a little longer for their handlers to finish. */
  async settle(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const { rows } = await this.#monitor.query<{ busy: number }>(
        `select count(*)::int as "busy" from pg_stat_activity where "backend_type" = 'client backend' and "usename" <> current_user and "state" <> 'idle'`,
      );
      if ((rows[0]?.busy ?? 0) === 0) break;
      await sleep(50);
    }
    await sleep(300);
  }

  async tableRows(): Promise<number> {
    const { rows } = await this.#monitor.query<{ rows: string }>(`select "n_live_tup" as "rows" from pg_stat_user_tables where "relname" = 'feedback_record'`);
    return Number(rows[0]?.rows ?? 0);
  }

  /** Checks the scenario, warms it up, then measures it at `connections`. */
  async measure(scenario: Scenario, server: ServerProcess, connections: number): Promise<Row> {
    await smokeTest(scenario, server.url);
    progress(`bench: ${scenario.name} — warm-up ${warmup} s, then ${duration} s at ${connections} connections`);
    await runLoad(scenario, server.url, { connections, duration: warmup });
    await this.settle();
    await this.#statements.reset();

    const before = { server: 0, cluster: 0 };
    const { result, outcomes } = await runLoad(scenario, server.url, { connections, duration }, () => {
      before.server = processCpuMs(server.pid);
      before.cluster = clusterCpuMs(this.#postmasterPid);
    });
    await this.settle();
    const serverCpu = processCpuMs(server.pid) - before.server;
    const clusterCpu = clusterCpuMs(this.#postmasterPid) - before.cluster;
    const statements = await this.#statements.read();

    const requests = result.requests.total;
    // The server did the work of every request sent, also of those the end of the run cut off.
    const perRequest = (total: number) => (result.requests.sent > 0 ? total / result.requests.sent : 0);
    if (result.errors > 0) outcomes['connection errors and timeouts'] = result.errors;
    const requestsPerSecond = requests / result.duration;
    const row: Row = {
      scenario,
      connections,
      requests: result.requests.sent,
      seconds: result.duration,
      requestsPerSecond,
      recordsPerSecond: scenario.recordsPerRequest === null ? null : requestsPerSecond * scenario.recordsPerRequest,
      p50: result.latency.p50,
      p99: result.latency.p99,
      ratio: null,
      serverCpuPerRequest: perRequest(serverCpu),
      postgresCpuPerRequest: perRequest(clusterCpu),
      statementsPerRequest: perRequest(statements.reduce((sum, statement) => sum + statement.calls, 0)),
      statements,
      outcomes,
      failures: Object.entries(outcomes).reduce((sum, [outcome, count]) => (outcome === '2xx' ? sum : sum + count), 0),
      rssMib: rssMib(server.pid),
      tableRows: await this.tableRows(),
    };
    progress(
      `  ${fixed(row.requestsPerSecond, 0)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms; per request ${fixed(row.serverCpuPerRequest, 2)} ms server CPU, ` +
        `${fixed(row.postgresCpuPerRequest, 2)} ms PostgreSQL CPU, ${fixed(row.statementsPerRequest, 2)} statements; RSS ${fixed(row.rssMib, 0)} MiB; ${row.failures} failed`,
    );
    for (const statement of statements.slice(0, 12)) {
      if (perRequest(statement.calls) >= 0.01) progress(`    ${fixed(perRequest(statement.calls), 2)}× ${fixed(statement.meanMs, 3)} ms ${shapeOf(statement.query)}`);
    }
    return row;
  }
}

const columns: { title: string; right: boolean; cell: (row: Row) => string }[] = [
  { title: 'scenario', right: false, cell: (row) => row.scenario.name },
  { title: 'conns', right: true, cell: (row) => String(row.connections) },
  { title: 'req/s', right: true, cell: (row) => fixed(row.requestsPerSecond, 0) },
  { title: 'records/s', right: true, cell: (row) => (row.recordsPerSecond === null ? '—' : fixed(row.recordsPerSecond, 0)) },
  { title: 'p50 ms', right: true, cell: (row) => fixed(row.p50, 1) },
  { title: 'p99 ms', right: true, cell: (row) => fixed(row.p99, 1) },
  { title: 'vs floor', right: true, cell: (row) => (row.ratio === null ? (row.scenario.target === 'floor' ? 'floor' : '—') : percent(row.ratio)) },
  { title: 'CPU ms/req', right: true, cell: (row) => fixed(row.serverCpuPerRequest, 2) },
  { title: 'PG CPU ms/req', right: true, cell: (row) => fixed(row.postgresCpuPerRequest, 2) },
  { title: 'SQL/req', right: true, cell: (row) => fixed(row.statementsPerRequest, 2) },
  { title: 'RSS MiB', right: true, cell: (row) => fixed(row.rssMib, 0) },
  { title: 'table rows', right: true, cell: (row) => `${fixed(row.tableRows / 1000, 0)}k` },
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

/** How long the gateway is left without requests at the end before its RSS is read again. */
const IDLE_AT_END_SECONDS = 15;

interface Memory {
  afterStart: number;
  /** Right after the last scenario, and after IDLE_AT_END_SECONDS more without requests. */
  atEnd: number | null;
  afterIdle: number | null;
}

function renderTargets(rows: Row[], memory: Memory): string[] {
  const at = (name: string) => rows.find((row) => row.connections === targetConnections && row.scenario.name === name);
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  const targets: string[] = [];
  const versusFloor = (name: string, share: number, label: string) => {
    const row = at(name);
    if (row?.ratio != null) targets.push(`- ${label} ≥ ${percent(share)} of the floor's requests/s: ${percent(row.ratio)} — ${verdict(row.ratio >= share)}`);
  };
  versusFloor('REST ingest 1 record, no key', 0.6, 'REST ingest without a key');
  versusFloor('REST ingest 1 record, Idempotency-Key', 0.4, 'REST ingest with an Idempotency-Key');
  versusFloor(`GraphQL read ${READ_PAGE} (source, person, company)`, 0.5, `GraphQL read of ${READ_PAGE} with source, person and company`);
  const batch = at(`GraphQL ingestRecords x${BATCH_SIZE}`);
  if (batch?.recordsPerSecond != null) targets.push(`- ingestRecords (x${BATCH_SIZE}) ≥ 20,000 records/s: ${fixed(batch.recordsPerSecond, 0)} — ${verdict(batch.recordsPerSecond >= 20_000)}`);
  const before = at('REST ingest 1 record, no key');
  const after = rows.find((row) => row.connections === targetConnections && row.scenario.phase === 'grown' && row.scenario.target === 'gateway');
  if (before && after) {
    const change = after.requestsPerSecond / before.requestsPerSecond - 1;
    targets.push(
      `- REST ingest without a key after ${fixed(before.tableRows / 1000, 0)}k → ${fixed(after.tableRows / 1000, 0)}k rows at most 10% below before: ` +
        `${fixed(before.requestsPerSecond, 0)} → ${fixed(after.requestsPerSecond, 0)} req/s (${change >= 0 ? '+' : ''}${percent(change)}; ` +
        `PostgreSQL CPU ${fixed(before.postgresCpuPerRequest, 2)} → ${fixed(after.postgresCpuPerRequest, 2)} ms/req) — ${verdict(change >= -0.1)}`,
    );
  }
  targets.push(`- RSS after start ≤ 120 MiB: ${fixed(memory.afterStart, 0)} — ${verdict(memory.afterStart <= 120)}`);
  if (memory.atEnd !== null && memory.afterIdle !== null) {
    const highest = Math.max(...rows.filter((row) => row.scenario.target === 'gateway').map((row) => row.rssMib));
    targets.push(
      `- RSS at the end of the run ≤ 200 MiB: ${fixed(memory.afterIdle, 0)} once ${IDLE_AT_END_SECONDS} s without requests had passed — ${verdict(memory.afterIdle <= 200)} ` +
        `(right after the last scenario ${fixed(memory.atEnd, 0)}; the highest after a scenario ${fixed(highest, 0)})`,
    );
  }
  return targets;
}

function renderOverload(rows: Row[]): string[] {
  return rows
    .filter((row) => row.scenario.phase === 'overload')
    .map((row) => {
      const answers = Object.values(row.outcomes).reduce((sum, count) => sum + count, 0);
      const share = (count: number) => percent(answers > 0 ? count / answers : 0);
      const refused = Object.entries(row.outcomes).filter(([outcome]) => outcome.startsWith('503 '));
      const others = Object.entries(row.outcomes).filter(([outcome]) => outcome !== '2xx' && !outcome.startsWith('503 '));
      const list = (entries: [string, number][]) => (entries.length === 0 ? 'none' : entries.map(([outcome, count]) => `${outcome} ×${count}`).join(', '));
      return (
        `- ${row.scenario.name} at ${row.connections} connections: ${fixed((row.outcomes['2xx'] ?? 0) / row.seconds, 0)} accepted req/s of ${fixed(answers / row.seconds, 0)}, ` +
        `p99 of 2xx answers ${fixed(row.p99, 0)} ms (p50 ${fixed(row.p50, 0)}); 503: ${share(refused.reduce((sum, [, count]) => sum + count, 0))} (${list(refused)}); ` +
        `other errors: ${share(others.reduce((sum, [, count]) => sum + count, 0))} (${list(others)}); RSS at its end ${fixed(row.rssMib, 0)} MiB`
      );
    });
}

/** The statements of each gateway scenario at the target connections, per request, and the plan of each hot one (once). */
async function renderStatements(rows: Row[], statements: StatementCounter): Promise<string> {
  const planned = new Map<string, number>();
  const sections: string[] = [];
  for (const row of rows.filter((candidate) => candidate.connections === targetConnections || candidate.scenario.phase === 'overload')) {
    const lines: string[] = [];
    for (const statement of row.statements) {
      const perRequest = statement.calls / Math.max(row.requests, 1);
      if (perRequest < 0.01) continue;
      const shape = shapeOf(statement.query);
      lines.push(`  - ${fixed(perRequest, 2)}× ${fixed(statement.meanMs, 3)} ms \`${shape}\``);
      if (perRequest < 0.5 || planned.has(statement.query)) continue;
      const plan = await statements.explain(statement.query);
      if (plan === null) continue;
      planned.set(statement.query, planned.size + 1);
      lines.push(`\n    \`\`\`\n${[statement.query.replace(/\s+/g, ' ').trim(), plan].join('\n').replace(/^/gm, '    ')}\n    \`\`\`\n`);
    }
    sections.push(`- ${row.scenario.name} (${row.connections} connections)\n${lines.join('\n')}`);
  }
  return sections.join('\n');
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

/** The embedded cluster with pg_stat_statements loaded: the library must be preloaded, hence one restart. */
async function startDatabase(dataDir: string): Promise<{ database: EmbeddedDatabase; postmasterPid: number }> {
  const first = await startEmbeddedDatabase(dataDir);
  const admin = new pg.Client({ connectionString: first.url });
  await admin.connect();
  await preloadStatementStatistics(admin);
  await admin.end();
  await first.stop();
  const database = await startEmbeddedDatabase(dataDir);
  const pidFile = path.join(await realpath(dataDir), 'postgres', 'postmaster.pid');
  const postmasterPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return { database, postmasterPid };
}

// ---------------------------------------------------------------- the run
const started = Date.now();
const loadBefore = os.loadavg()[0] ?? 0;
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-bench-'));
progress(`bench: embedded PostgreSQL in ${dataDir}`);
const { database, postmasterPid } = await startDatabase(dataDir);
let monitor: pg.Client | null = null;
const servers: Partial<Servers> = {};
try {
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const monitorPassword = randomBytes(18).toString('base64url');
  await createMonitor(admin, monitorPassword);
  await admin.end();
  const monitorUrl = new URL(database.url);
  monitorUrl.username = MONITOR_ROLE;
  monitorUrl.password = monitorPassword;
  monitor = new pg.Client({ connectionString: monitorUrl.toString() });
  await monitor.connect();

  const orm = await connectOrm(database.url);
  await migrate(orm);
  const { token, organization } = await createApiKey(orm.em.fork(), 'bench', scopes, null);
  await orm.close();
  const seedStarted = Date.now();
  progress(`bench: seeding ${SEED_SOURCES} sources, ${SEED_COMPANIES} companies, ${SEED_PEOPLE} people, ${seedRecords} records`);
  const seeded = await seed(monitor, organization.id, seedRecords);
  // Each phase starts from a checkpoint: otherwise the one the seeding's WAL triggers falls inside a
  // measured run, whose writes then pay a full-page image for each page they touch first.
  await monitor.query('checkpoint');
  const seedTime = seconds(seedStarted);
  progress(`  seeded in ${seedTime} s`);
  const context: BenchContext = { token, grownBy, ...seeded };

  servers.gateway = await startGateway(database.url, dataDir, profileDir);
  const memory: Memory = { afterStart: rssMib(servers.gateway.pid), atEnd: null, afterIdle: null };
  progress(`bench: gateway ready (pid ${servers.gateway.pid}), RSS ${fixed(memory.afterStart, 0)} MiB`);
  servers.floor = await startFloorProcess({ databaseUrl: database.url, organizationId: organization.id, ingestSourceId: seeded.ingestSourceId, readSourceId: seeded.readSourceId, poolSize });
  const { rows: versionRows } = await monitor.query<{ version: string }>('select version() as "version"');
  const postgresVersion = (versionRows[0]?.version ?? 'PostgreSQL ?').split(',')[0] as string;

  const bench = new Bench(monitor, postmasterPid);
  const rows: Row[] = [];
  let grownAfter: string | null = null;
  for (const scenario of buildScenarios(context)) {
    if (only.length > 0 && !only.some((part) => scenario.name.toLowerCase().includes(part))) continue;
    if (scenario.phase === 'grown' && grownAfter === null) {
      const insertStarted = Date.now();
      progress(`bench: inserting ${grownBy} more records`);
      await monitor.query('begin');
      await insertSeedRecords(monitor, organization.id, seedRecords + 1, grownBy);
      await monitor.query('commit');
      // The ingest scenarios before this phase inserted a million rows or more: vacuumed now, the
      // autovacuum they call for does not run inside the measured runs and count as their work.
      await monitor.query('vacuum analyze "feedback_record"');
      await monitor.query('checkpoint');
      grownAfter = seconds(insertStarted);
    }
    const server = servers[scenario.target] as ServerProcess;
    for (const connections of scenario.phase === 'overload' ? [overloadConnections] : connectionCounts) {
      rows.push(await bench.measure(scenario, server, connections));
    }
  }
  for (const row of rows) {
    const floorRow = rows.find((other) => other.scenario.name === row.scenario.floor && other.connections === row.connections);
    row.ratio = floorRow ? row.requestsPerSecond / floorRow.requestsPerSecond : null;
  }
  memory.atEnd = rssMib(servers.gateway.pid);
  // The gateway gives memory back once idle (src/memory-reducer.ts): read it again after a pause.
  await sleep(IDLE_AT_END_SECONDS * 1000);
  memory.afterIdle = rssMib(servers.gateway.pid);

  const table = renderTable(rows);
  const targets = renderTargets(rows, memory);
  const overload = renderOverload(rows);
  const statements = await renderStatements(rows, bench.statements);
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${fixed(os.totalmem() / 2 ** 30, 1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}; Node ${process.version}; ${postgresVersion}`;
  // Other work on the machine moves requests/s a lot (CPU ms/req much less): say how busy it was.
  const busy = `1-minute load average ${fixed(loadBefore, 2)} before the run, ${fixed(os.loadavg()[0] ?? 0, 2)} after`;
  const code = codeVersion();
  const rss =
    `Gateway RSS: ${fixed(memory.afterStart, 0)} MiB after start (once /readyz answered), ${fixed(memory.atEnd, 0)} MiB right after the last scenario, ` +
    `${fixed(memory.afterIdle, 0)} MiB ${IDLE_AT_END_SECONDS} s later`;
  process.stdout.write(`\n${table}\n\n${rss}\n\n${[...overload, ...targets].join('\n')}\n\n${machine}; ${busy}; ${code}\n`);

  if (record) {
    const method =
      `${code}; ${connectionCounts.join(' and ')} connections (overload: ${overloadConnections}), ${duration} s per measured run after a ${warmup} s warm-up; ` +
      `seeded with SQL in ${seedTime} s: ${SEED_SOURCES} sources, ${fmt(SEED_COMPANIES)} companies, ${fmt(SEED_PEOPLE)} people, ${fmt(seedRecords)} records of 3 fields` +
      `${grownAfter === null ? '' : `, then ${fmt(grownBy)} more before the "+${fmt(grownBy)} rows" runs (${grownAfter} s)`}; ` +
      `gateway (\`${launchCommand}\`, as \`npm start\` runs it), floor and autocannon in three processes; pools of ${poolSize} connections; ${busy}. ` +
      'req/s: answers per second. CPU ms/req: CPU time of the loaded server process during the run ÷ requests sent; PG CPU ms/req: the same for every process of the PostgreSQL cluster. ' +
      'SQL/req: statements PostgreSQL ran (pg_stat_statements, BEGIN/COMMIT included) ÷ requests sent. p50/p99: 2xx answers only. ' +
      'RSS: the loaded server process after the run. table rows: feedback_record after the run. failed: non-2xx answers, error bodies, connection errors and timeouts.';
    const details = `\n\n<details><summary>SQL statements per request (calls, mean time in PostgreSQL, shape) and the generic plan of each hot statement, at ${targetConnections} connections</summary>\n\n${statements}\n\n</details>`;
    await appendFile(
      RESULTS_FILE,
      `\n## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — ${machine}\n\n${method}\n\n${table}\n\n${rss}.\n\n${[...overload, ...targets].join('\n')}${details}\n`,
    );
    progress(`bench: appended to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  }
} finally {
  await servers.floor?.stop();
  await servers.gateway?.stop();
  if (profileDir && servers.gateway) progress(`bench: the gateway's CPU profile is in ${profileDir}`);
  await monitor?.end();
  await database.stop();
  await rm(dataDir, { recursive: true, force: true });
  progress(`bench: done in ${Math.round((Date.now() - started) / 1000)} s`);
}

function fmt(value: number): string {
  return value.toLocaleString('en-US');
}
