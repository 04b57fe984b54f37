import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../helpers/http.ts';
import { freePort } from '../helpers/process-server.ts';
import { sleep } from '../helpers/wait.ts';

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group, not only to the gateway:
 * the embedded PostgreSQL must still outlive the requests in flight (README: Ctrl-C stops both cleanly).
 */
describe('Ctrl-C in a terminal: SIGINT to the process group of `npm start` with the embedded PostgreSQL', () => {
  let dataDir: string;
  let child: ChildProcess;
  let output = '';
  let postmasterPid = 0;
  let inFlight: { status: number; body: { name?: string } };
  let exit: { code: number | null; signal: string | null };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-interrupt-'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0' };
    for (const name of ['DATABASE_URL', 'REDIS_URL']) delete env[name];
    // A process group of its own, as a shell gives a foreground job.
    child = spawn(process.execPath, ['src/main.ts'], { cwd: REPOSITORY, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + 30_000;
    while (!/fgw_[A-Za-z0-9_-]{43}/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the gateway did not start:\n${output}`);
      await sleep(50);
    }
    const token = output.match(/fgw_[A-Za-z0-9_-]{43}/)?.[0] ?? '';
    const [pidLine = '', , , portLine = ''] = (await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n');
    postmasterPid = Number(pidLine);

    // Every source insert now takes 1.5 s, so a request is surely in flight when the signal comes.
    const credentials = JSON.parse(await readFile(path.join(dataDir, 'postgres-credentials.json'), 'utf8')) as { user: string; password: string };
    const admin = new pg.Client({ host: '127.0.0.1', port: Number(portLine), user: credentials.user, password: credentials.password, database: 'postgres' });
    await admin.connect();
    await admin.query(`create function slow_insert() returns trigger language plpgsql as $$ begin perform pg_sleep(1.5); return new; end $$;
      create trigger slow_insert before insert on feedback_source for each row execute function slow_insert();`);
    await admin.end();

    const request = new RestClient(base, token).post<{ name?: string }>('/feedback-sources', { name: 'Interrupted mid-request' });
    await sleep(300);
    process.kill(-(child.pid as number), 'SIGINT');
    const response = await request;
    inFlight = { status: response.status, body: response.body };
    exit = await Promise.race([exited, sleep(10_000).then(() => ({ code: null, signal: 'still running after 10 s' }))]);
  }, 60_000);

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    if (postmasterPid > 0 && existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))) {
      try {
        process.kill(postmasterPid, 'SIGQUIT');
      } catch {}
      await sleep(500);
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers the request in flight with 201: PostgreSQL was not stopped under it', () => {
    expect(inFlight, output).toEqual({ status: 201, body: expect.objectContaining({ name: 'Interrupted mid-request' }) });
  });

  it('exits with code 0, having stopped PostgreSQL last', () => {
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
