import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DatabaseStartError, openDatabase } from './database/open.ts';
import { bootstrapDevelopmentKey } from './organizations/bootstrap.ts';

// Start-up: config → database (embedded or DATABASE_URL) → migrations → first-start token → listen.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const database = await openDatabase(config).catch((error: unknown) => {
  console.error(new DatabaseStartError(error).message);
  process.exit(1);
});
// JSON lines for log collectors; readable lines when a person watches the terminal.
const logger = process.stdout.isTTY
  ? { level: config.logLevel, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } }
  : { level: config.logLevel };
const app = await buildApp(config, database.orm, { logger });
const firstKey = await bootstrapDevelopmentKey(database.orm.em.fork());
await app.listen({ port: config.port, host: config.host });

const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
const base = `http://localhost:${port}`;
console.log(`\nFeedback gateway is running on ${base} (database: ${database.description})`);
console.log(`  GraphiQL: ${base}/graphql`);
console.log(`  Error codes: ${config.publicUrl}/docs/errors`);
if (firstKey) {
  console.log(`\nFirst start: created organization "${firstKey.organization.name}" and an API token with every scope.`);
  console.log('It is shown only this once; send it in the x-api-token header (paste it into GraphiQL\'s Headers tab):\n');
  console.log(`  ${firstKey.token}\n`);
}

// Stop accepting, let requests in flight finish (new ones get 503), then close the pool and the
// embedded database. Bounded: a request that never ends must not keep the process alive.
const SHUTDOWN_GRACE_MS = 10_000;
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
  await database.close();
  app.log.info('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
