import cluster, { type Worker } from 'node:cluster';
import { pino } from 'pino';
import type { Config } from './config.ts';
import { keepRateLimitsForWorkers } from './http/rate-limit.ts';
import { bootstrapDevelopmentKey } from './organizations/bootstrap.ts';
import { SHUTDOWN_GRACE_MS } from './server-process.ts';
import { loggerOptions, openDatabaseOrExit, printBanner } from './start-up.ts';

/** A worker that died before it listened is replaced after this pause, so one that cannot start does not spin. */
const RESTART_PAUSE_MS = 1_000;
/** Workers bound their own shutdown by SHUTDOWN_GRACE_MS; one still running this much later is stuck. */
const STOP_WORKERS_WITHIN_MS = SHUTDOWN_GRACE_MS + 2_000;

/**
 * The primary process of WORKERS > 1. It opens the database once (starting and migrating the
 * embedded PostgreSQL, or migrating DATABASE_URL), creates the first-start token, keeps the
 * rate-limit counters, and runs `config.workers` server processes that share the port (node:cluster
 * hands each new connection to the next worker). A worker that dies is replaced. SIGINT or SIGTERM
 * stops every worker gracefully, then the database last; Ctrl-C in a terminal signals the workers
 * as well, which changes nothing.
 */
export async function startPrimary(config: Config): Promise<void> {
  const log = pino(loggerOptions(config));
  const database = await openDatabaseOrExit(config);
  const firstKey = await bootstrapDevelopmentKey(database.orm.em.fork());
  keepRateLimitsForWorkers();
  const workerEnv = { DATABASE_URL: database.url };

  let started = false;
  let stopping = false;
  const serving = new Set<number>();

  async function stop(reason: string, exitCode: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    const running = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
    const stoppedCleanly = running.map(
      (worker) => new Promise<boolean>((resolve) => worker.once('exit', (code, signal) => resolve(code === 0 || signal === 'SIGTERM' || signal === 'SIGINT'))),
    );
    for (const worker of running) worker.process.kill('SIGTERM');
    const deadline = setTimeout(() => {
      log.error(`workers still running after ${STOP_WORKERS_WITHIN_MS} ms; killing them`);
      for (const worker of running) worker.process.kill('SIGKILL');
    }, STOP_WORKERS_WITHIN_MS);
    const clean = (await Promise.all(stoppedCleanly)).every(Boolean);
    clearTimeout(deadline);
    await database.close();
    log.info('stopped');
    process.exit(clean ? exitCode : 1);
  }

  cluster.on('listening', (worker, address) => {
    serving.add(worker.id);
    if (started) {
      log.info({ worker_pid: worker.process.pid }, 'worker started');
    } else if (serving.size === config.workers) {
      started = true;
      printBanner(config, database, address.port, firstKey);
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    const wasServing = serving.delete(worker.id);
    if (stopping) return;
    if (!started) {
      log.error({ worker_pid: worker.process.pid, code, signal }, 'a worker exited while starting; stopping');
      void stop('a worker failed to start', 1);
      return;
    }
    log.error({ worker_pid: worker.process.pid, code, signal }, 'worker exited unexpectedly; starting another');
    setTimeout(
      () => {
        if (!stopping) cluster.fork(workerEnv);
      },
      wasServing ? 0 : RESTART_PAUSE_MS,
    );
  });

  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  for (let i = 0; i < config.workers; i++) cluster.fork(workerEnv);
}
