import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { connectOrm, type MikroORM } from './database/orm.ts';
import { startMemoryReducer } from './memory-reducer.ts';
import { loggerOptions } from './start-up.ts';

/** How long requests in flight may take to finish once a stop is asked for. */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Runs the HTTP server in this process (the only one, or a worker) until SIGINT or SIGTERM, then
 * stops gracefully and exits; resolves with the port once it listens.
 */
export async function serve(config: Config, database: { orm: MikroORM; close(): Promise<void> }): Promise<number> {
  const app = await buildApp(config, database.orm, { logger: loggerOptions(config) });
  // Start-up's garbage goes back to the system before the first request, as does each burst's once idle.
  const memoryReducer = startMemoryReducer();
  await app.listen({ port: config.port, host: config.host });

  // Stop accepting, let requests in flight finish (new ones get 503), then close the pool (and, in
  // the only process, the embedded database). Bounded: a request that never ends must not keep the
  // process alive.
  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    setTimeout(() => {
      app.log.error(`requests still running after ${SHUTDOWN_GRACE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    // A keep-alive connection that goes idle after closing began would hold close() open until its
    // timeout: keep closing idle ones until every request has finished.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
    await app.close();
    clearInterval(sweep);
    memoryReducer.stop();
    await database.close();
    app.log.info('stopped');
    process.exit(0);
  }
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : config.port;
}

/**
 * A worker of WORKERS > 1: serves on the primary's port with a pool of its own on the database the
 * primary opened and migrated (its URL arrives as DATABASE_URL); it never starts or migrates one.
 */
export async function startWorker(config: Config): Promise<void> {
  try {
    if (!config.databaseUrl) throw new Error('the primary process gave no DATABASE_URL');
    const orm = await connectOrm(config.databaseUrl);
    await serve(config, { orm, close: () => orm.close() });
  } catch (error) {
    console.error(`Worker ${process.pid} could not start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    process.exit(1);
  }
}
