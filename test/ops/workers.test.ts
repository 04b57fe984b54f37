import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDatabase } from '../../src/database/embedded.ts';
import { connectOrm, type MikroORM } from '../../src/database/orm.ts';
import { scopes } from '../../src/organizations/scopes.ts';
import { createApiKey } from '../../src/organizations/tokens.ts';
import { type ErrorEnvelope, expectErrorEnvelope, type HttpReply, type HttpRequest, PUBLIC_URL, send } from '../helpers/http.ts';
import { type ChildExit, type ChildService, freePort, startServerProcess } from '../helpers/process-server.ts';
import { runRedisSuites, startRedis } from '../helpers/redis-server.ts';
import { createDatabase, createDatabaseWithToken } from '../helpers/server.ts';
import { runSql } from '../helpers/sql.ts';
import { sleep, waitUntil } from '../helpers/wait.ts';

// Issue #10 item 10 (SPEC §13): WORKERS=N runs N server processes on one port over one embedded
// PostgreSQL started once; rate limits, idempotency and token revocation behave as with one process.

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));
const WORKERS = 2;
const LIMIT = 8;
/** README: a revoked token is refused within a second by every server process. */
const REVOKED_WITHIN_MS = 1_000;
/** Requests in flight answer within milliseconds once their insert's second is over. */
const EXIT_WITHIN_MS = 5_000;
/** Sources named so take a second to insert (a trigger), so a request is surely in flight. */
const SLOW = 'Slow';

const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  // Every process, connection and directory goes, latest first, even when a test or a step failed.
  const failures: unknown[] = [];
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
});

interface Gateway {
  url: string;
  /** The primary process, leader of a process group of its own as a terminal's foreground job is. */
  child: ChildProcess;
  exited: Promise<ChildExit>;
  output(): string;
  dataDir: string;
  pgData: string;
  databaseUrl: string;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/** Signals the process group `child` leads, as a terminal signals its foreground job. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  // Never -0: that would signal this test's own process group.
  if (!child.pid) throw new Error('the gateway has no pid');
  process.kill(-child.pid, signal);
}

/** The pid in PostgreSQL's postmaster.pid, 0 when it has none (stopped). */
async function postmasterOf(gateway: Gateway): Promise<number> {
  const file = path.join(gateway.pgData, 'postmaster.pid');
  return existsSync(file) ? Number((await readFile(file, 'utf8')).split('\n')[0]) : 0;
}

/** `npm start` with WORKERS=2 on a fresh DATA_DIR (the embedded PostgreSQL), started once every worker listens. */
async function startGateway(): Promise<Gateway> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-workers-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WORKERS: String(WORKERS),
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL,
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: String(LIMIT),
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL']) delete env[name];
  const child = spawn(process.execPath, ['src/main.ts'], { cwd: REPOSITORY, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const gateway: Gateway = { url: `http://127.0.0.1:${port}`, child, exited, output: () => output, dataDir, pgData: path.join(dataDir, 'postgres'), databaseUrl: '' };
  cleanups.push(async () => {
    const postmaster = await postmasterOf(gateway);
    if (child.exitCode === null && child.signalCode === null) {
      // The whole group: the primary and its workers.
      signalGroup(child, 'SIGKILL');
      await exited;
    }
    // A PostgreSQL left behind by a failed shutdown is stopped before its files go.
    if (postmaster > 0 && isRunning(postmaster)) {
      process.kill(postmaster, 'SIGQUIT');
      for (let i = 0; i < 50 && isRunning(postmaster); i++) await sleep(100);
    }
    await rm(dataDir, { recursive: true, force: true });
  });
  const deadline = Date.now() + 60_000;
  while (!output.includes(`with ${WORKERS} workers`)) {
    if (child.exitCode !== null) throw new Error(`the gateway exited while starting:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the gateway did not start within 60 s:\n${output}`);
    await sleep(50);
  }
  // The running PostgreSQL of DATA_DIR, found as the keys CLI finds it; left running.
  gateway.databaseUrl = (await startEmbeddedDatabase(dataDir)).url;
  // Sources named "Slow …" take a second to insert.
  await runSql(
    gateway.databaseUrl,
    `create function slow_insert() returns trigger language plpgsql as $$ begin if new.name like '${SLOW} %' then perform pg_sleep(1); end if; return new; end $$;
     create trigger slow_insert before insert on feedback_source for each row execute function slow_insert();`,
  );
  return gateway;
}

const byNumber = (a: number, b: number) => a - b;

interface ProcessEntry {
  pid: number;
  ppid: number;
  /** The program's file name: node, postgres. */
  program: string;
}

/** The processes of this machine, from /proc. */
async function processes(): Promise<ProcessEntry[]> {
  const entries: ProcessEntry[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const [stat, cmdline] = await Promise.all([readFile(`/proc/${name}/stat`, 'utf8'), readFile(`/proc/${name}/cmdline`, 'utf8')]).catch(() => [null, null]);
    if (stat === null || cmdline === null) continue;
    // "pid (thread name) state ppid …"; the name may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    entries.push({ pid: Number(name), ppid, program: path.basename(cmdline.split('\0')[0] ?? '') });
  }
  return entries;
}

/** The worker processes: the primary's children that run node. */
async function workerPids(gateway: Gateway): Promise<number[]> {
  return (await processes())
    .filter(({ ppid, program }) => ppid === gateway.child.pid && program === 'node')
    .map(({ pid }) => pid)
    .sort(byNumber);
}

interface LogLine {
  pid?: number;
  msg?: string;
  request_id?: string;
  worker_pid?: number;
}

/** A gateway's URL and everything its processes printed. */
interface Target {
  url: string;
  output(): string;
}

/** The JSON log lines of the primary and its workers (they share its stdout). */
function logLines(gateway: Target): LogLine[] {
  return gateway
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.endsWith('}'))
    .map((line) => JSON.parse(line) as LogLine);
}

interface Answer {
  reply: HttpReply<{ error?: ErrorEnvelope; id?: number }>;
  /** The process that answered, from its request log line. */
  pid: number;
}

let sequence = 0;

/** Sends a request on a connection of its own (so each may reach another worker) and finds which worker answered. */
async function call(gateway: Target, request: HttpRequest): Promise<Answer> {
  const requestId = `workers-${++sequence}`;
  const reply = await send<{ error?: ErrorEnvelope; id?: number }>(gateway.url, { ...request, headers: { ...request.headers, connection: 'close', 'x-request-id': requestId } });
  let pid: number | undefined;
  await waitUntil(async () => {
    pid = logLines(gateway).find((line) => line.msg === 'request' && line.request_id === requestId)?.pid;
    return pid !== undefined;
  }, `${requestId} is logged`);
  return { reply, pid: pid ?? 0 };
}

const listSources = (gateway: Target, token: string) => call(gateway, { path: '/v3/rest/feedback-sources', headers: { 'x-api-token': token } });

const createSource = (gateway: Gateway, token: string, name: string, headers: Record<string, string> = {}) =>
  call(gateway, { method: 'POST', path: '/v3/rest/feedback-sources', headers: { 'x-api-token': token, ...headers }, json: { name } });

/** Resolves once `count` statements are inside the slow trigger's sleep: their requests are in flight. */
async function sleepingInserts(gateway: Gateway, count: number): Promise<void> {
  await waitUntil(async () => {
    const [row] = await runSql<{ sleeping: number }>(gateway.databaseUrl, `select count(*)::int as "sleeping" from pg_stat_activity where wait_event = 'PgSleep'`);
    return row?.sleeping === count;
  }, `${count} slow inserts are running`);
}

const pidsOf = (answers: Answer[]) => [...new Set(answers.map(({ pid }) => pid))].sort(byNumber);

/** Runs the keys CLI as an operator does, against the embedded database of DATA_DIR. */
function keys(gateway: Gateway, ...args: string[]): Promise<{ code: number; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: gateway.dataDir };
  delete env.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(process.execPath, ['src/organizations/keys.cli.ts', ...args], { cwd: REPOSITORY, env, timeout: 30_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
    });
  });
}

describe('WORKERS=2 with the embedded PostgreSQL', () => {
  let gateway: Gateway;
  let orm: MikroORM;
  let workers: number[];

  const newKey = async (organization: string) => {
    const { key, token } = await createApiKey(orm.em.fork(), organization, scopes, null);
    return { id: key.id, token };
  };

  beforeAll(async () => {
    gateway = await startGateway();
    orm = await connectOrm(gateway.databaseUrl);
    cleanups.push(() => orm.close(true));
    workers = await workerPids(gateway);
  }, 90_000);

  it('starts two workers and says so once in its banner, with the first-start token printed once', () => {
    expect(workers).toHaveLength(WORKERS);
    expect(gateway.output().match(/Feedback gateway is running on http:\/\/localhost:\d+ with 2 workers \(database: embedded PostgreSQL in /g)).toHaveLength(1);
    expect(gateway.output().match(/fgw_[A-Za-z0-9_-]{43}/g)).toHaveLength(1);
  });

  it('starts one PostgreSQL, as a child of the primary process, and no worker starts one', async () => {
    const all = await processes();
    const postmaster = await postmasterOf(gateway);
    expect(all.find(({ pid }) => pid === postmaster)).toMatchObject({ ppid: gateway.child.pid, program: 'postgres' });
    const postgresChildren = all.filter(({ ppid, program }) => program === 'postgres' && (ppid === gateway.child.pid || workers.includes(ppid)));
    expect(postgresChildren.map(({ pid }) => pid)).toEqual([postmaster]);
  });

  it('answers requests on one port from both workers', async () => {
    const { token } = await newKey('Both Workers');
    const answers: Answer[] = [];
    for (let i = 0; i < 6; i++) answers.push(await listSources(gateway, token));
    expect(answers.map(({ reply }) => reply.status)).toEqual(Array(6).fill(200));
    expect(pidsOf(answers)).toEqual(workers);
  });

  it('shares one rate limit per token: RateLimit-Remaining counts down across both workers, and request LIMIT+1 is 429 on either', async () => {
    const { token } = await newKey('Rate Limited');
    const allowed: Answer[] = [];
    for (let i = 0; i < LIMIT; i++) allowed.push(await listSources(gateway, token));
    expect(allowed.map(({ reply }) => [reply.status, reply.headers.get('ratelimit-limit'), reply.headers.get('ratelimit-remaining')])).toEqual(
      Array.from({ length: LIMIT }, (_, i) => [200, String(LIMIT), String(LIMIT - 1 - i)]),
    );
    expect(pidsOf(allowed)).toEqual(workers);

    const refused: Answer[] = [];
    for (let i = 0; i < 4; i++) refused.push(await listSources(gateway, token));
    for (const { reply } of refused) {
      expectErrorEnvelope(reply, { type: 'rate_limit_error', code: 'RATE_LIMITED', param: null, retryable: true });
      expect(reply.headers.get('ratelimit-remaining')).toBe('0');
    }
    expect(pidsOf(refused)).toEqual(workers);
  });

  it('writes once a POST sent with one Idempotency-Key to both workers: 409 IDEMPOTENCY_KEY_IN_PROGRESS while it runs, then replays', async () => {
    const { token } = await newKey('Idempotent');
    const key = randomUUID();
    const name = `${SLOW} idempotent source`;
    const firstRequest = createSource(gateway, token, name, { 'idempotency-key': key });
    await sleepingInserts(gateway, 1);
    const concurrent = await createSource(gateway, token, name, { 'idempotency-key': key });
    const first = await firstRequest;
    const retries = [await createSource(gateway, token, name, { 'idempotency-key': key }), await createSource(gateway, token, name, { 'idempotency-key': key })];

    expect(first.reply.status, first.reply.text).toBe(201);
    expect(first.reply.headers.get('idempotency-replayed')).toBeNull();
    expect(concurrent.pid).not.toBe(first.pid);
    expectErrorEnvelope(concurrent.reply, { type: 'conflict_error', code: 'IDEMPOTENCY_KEY_IN_PROGRESS', param: 'Idempotency-Key', retryable: true });
    for (const { reply } of retries) {
      expect([reply.status, reply.headers.get('idempotency-replayed'), reply.text]).toEqual([201, 'true', first.reply.text]);
    }
    expect(pidsOf(retries)).toEqual(workers);
    expect(await runSql(gateway.databaseUrl, 'select "id"::int as "id" from "feedback_source" where "name" = $1', [name])).toEqual([{ id: first.reply.body.id }]);
  });

  it('refuses a token revoked with `npm run keys -- revoke` with 401 API_TOKEN_REVOKED on both workers 1 s after the CLI exits', async () => {
    const { id, token } = await newKey('Revoked');
    // Both workers have verified (and cached) the token.
    const used: Answer[] = [];
    while (pidsOf(used).length < WORKERS && used.length < 6) used.push(await listSources(gateway, token));
    expect(used.map(({ reply }) => reply.status)).toEqual(used.map(() => 200));
    expect(pidsOf(used)).toEqual(workers);

    const run = await keys(gateway, 'revoke', String(id));
    expect(run.code, run.stderr).toBe(0);
    await sleep(REVOKED_WITHIN_MS);

    const refused: Answer[] = [];
    for (let i = 0; i < 4; i++) refused.push(await listSources(gateway, token));
    for (const { reply } of refused) expectErrorEnvelope(reply, { type: 'authentication_error', code: 'API_TOKEN_REVOKED', param: null });
    expect(pidsOf(refused)).toEqual(workers);
  });

  it('replaces a worker that is killed, and serves from the new one', async () => {
    const [killed = 0, survivor = 0] = workers;
    // Never 0: that would signal this test's own process group.
    expect(killed).toBeGreaterThan(0);
    process.kill(killed, 'SIGKILL');
    let replaced: number[] = [];
    await waitUntil(
      async () => {
        replaced = await workerPids(gateway);
        return replaced.length === WORKERS && !replaced.includes(killed) && logLines(gateway).some((line) => line.msg === 'worker started');
      },
      'the killed worker is replaced',
      30_000,
    );
    expect(replaced).toContain(survivor);
    expect(logLines(gateway).filter((line) => line.msg === 'worker exited unexpectedly; starting another')).toEqual([
      expect.objectContaining({ pid: gateway.child.pid, worker_pid: killed }),
    ]);

    const { token } = await newKey('After The Crash');
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await listSources(gateway, token));
    expect(answers.map(({ reply }) => reply.status)).toEqual([200, 200, 200, 200]);
    expect(pidsOf(answers)).toEqual(replaced);
    workers = replaced;
  }, 60_000);

  describe('then SIGTERM to the primary while each worker has a write in flight', () => {
    let inFlight: Answer[];
    let exit: ChildExit | null;
    let postmaster: number;

    beforeAll(async () => {
      const { token } = await newKey('Stopping');
      await orm.close(true);
      postmaster = await postmasterOf(gateway);
      const requests = [createSource(gateway, token, `${SLOW} source 1`), createSource(gateway, token, `${SLOW} source 2`)];
      await sleepingInserts(gateway, 2);
      gateway.child.kill('SIGTERM');
      inFlight = await Promise.all(requests);
      exit = await Promise.race([gateway.exited, sleep(EXIT_WITHIN_MS).then(() => null)]);
    }, 60_000);

    it('answers both writes in flight with 201, one from each worker', () => {
      expect(inFlight.map(({ reply }) => reply.status)).toEqual([201, 201]);
      expect(pidsOf(inFlight)).toEqual(workers);
    });

    it('exits with code 0, its workers gone and PostgreSQL stopped', () => {
      expect(exit, gateway.output().split('\n').slice(-8).join('\n')).toEqual({ code: 0, signal: null });
      for (const pid of [...workers, postmaster]) expect(isRunning(pid), `process ${pid}`).toBe(false);
      expect(existsSync(path.join(gateway.pgData, 'postmaster.pid'))).toBe(false);
    });

    it('stops every worker before PostgreSQL: each logged "stopped" before the primary did', () => {
      const stopped = logLines(gateway)
        .filter((line) => line.msg === 'stopped')
        .map(({ pid }) => pid ?? 0);
      expect(stopped.at(-1)).toBe(gateway.child.pid);
      expect(stopped.slice(0, -1).sort(byNumber)).toEqual(workers);
    });
  });
});

describe('WORKERS=2: Ctrl-C in a terminal (SIGINT to the whole process group) with a write in flight on each worker', () => {
  let gateway: Gateway;
  let workers: number[];
  let postmaster: number;
  let inFlight: Answer[];
  let exit: ChildExit | null;

  beforeAll(async () => {
    gateway = await startGateway();
    workers = await workerPids(gateway);
    postmaster = await postmasterOf(gateway);
    const token = gateway.output().match(/fgw_[A-Za-z0-9_-]{43}/)?.[0] ?? '';
    const requests = [createSource(gateway, token, `${SLOW} source 1`), createSource(gateway, token, `${SLOW} source 2`)];
    await sleepingInserts(gateway, 2);
    signalGroup(gateway.child, 'SIGINT');
    inFlight = await Promise.all(requests);
    exit = await Promise.race([gateway.exited, sleep(EXIT_WITHIN_MS).then(() => null)]);
  }, 90_000);

  it('answers both writes in flight with 201, one from each worker: PostgreSQL was not stopped under them', () => {
    expect(inFlight.map(({ reply }) => [reply.status, reply.text.slice(0, 200)])).toEqual([
      [201, expect.any(String)],
      [201, expect.any(String)],
    ]);
    expect(pidsOf(inFlight)).toEqual(workers);
  });

  it('exits with code 0, its workers gone and PostgreSQL stopped', () => {
    expect(exit, gateway.output().split('\n').slice(-8).join('\n')).toEqual({ code: 0, signal: null });
    for (const pid of [...workers, postmaster]) expect(isRunning(pid), `process ${pid}`).toBe(false);
    expect(existsSync(path.join(gateway.pgData, 'postmaster.pid'))).toBe(false);
  });
});

describe.runIf(runRedisSuites())('two gateways of WORKERS=2 with REDIS_URL, on one database', () => {
  let gateways: [ChildService, ChildService];
  let token: string;

  beforeAll(async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const database = await createDatabaseWithToken('Four Workers');
    token = database.token;
    const env = { DATABASE_URL: database.databaseUrl, REDIS_URL: redis.url, WORKERS: String(WORKERS), LOG_LEVEL: 'info', PUBLIC_URL, RATE_LIMIT_PER_MINUTE: String(LIMIT) };
    gateways = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    for (const gateway of gateways) cleanups.push(() => gateway.stop());
    // Serving once every worker listens.
    await waitUntil(async () => gateways.every((gateway) => gateway.output().includes(`with ${WORKERS} workers`)), 'both gateways have started their workers', 30_000);
  }, 90_000);

  it('counts one budget per token in Redis across the four workers: request LIMIT+1 is 429 on every one', async () => {
    const allowed: Answer[] = [];
    for (let i = 0; i < LIMIT; i++) allowed.push(await listSources(gateways[i % 2 === 0 ? 0 : 1], token));
    expect(allowed.map(({ reply }) => [reply.status, reply.headers.get('ratelimit-remaining')])).toEqual(Array.from({ length: LIMIT }, (_, i) => [200, String(LIMIT - 1 - i)]));
    expect(pidsOf(allowed)).toHaveLength(2 * WORKERS);

    const refused: Answer[] = [];
    for (let i = 0; i < 4; i++) refused.push(await listSources(gateways[i % 2 === 0 ? 0 : 1], token));
    for (const { reply } of refused) expectErrorEnvelope(reply, { type: 'rate_limit_error', code: 'RATE_LIMITED', param: null, retryable: true });
    expect(pidsOf(refused)).toHaveLength(2 * WORKERS);
  });
});

describe('WORKERS=2 on a port another program holds', () => {
  let run: { code: number | null; stderr: string; stdout: string };

  beforeAll(async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
    const address = holder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const env: NodeJS.ProcessEnv = { ...process.env, WORKERS: String(WORKERS), DATABASE_URL: await createDatabase(), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    delete env.REDIS_URL;
    run = await new Promise((resolve) => {
      execFile(process.execPath, ['src/main.ts'], { cwd: REPOSITORY, env, timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
  }, 60_000);

  it('stops with exit code 1 and a line saying why the worker could not start, instead of restarting it forever', () => {
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toMatch(/^Worker \d+ could not start: .*EADDRINUSE/m);
    expect(run.stdout).not.toContain('Feedback gateway is running');
  });
});
