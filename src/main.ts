import cluster from 'node:cluster';
import { startPrimary } from './cluster.ts';
import { bootstrapDevelopmentKey } from './organizations/bootstrap.ts';
import { serve, startWorker } from './server-process.ts';
import { loadConfigOrExit, openDatabaseOrExit, printBanner } from './start-up.ts';

// Start-up: config → database (embedded or DATABASE_URL) → migrations → first-start token → listen.
// With WORKERS > 1 the primary does all but the last step once, and its workers listen on one port.
const config = loadConfigOrExit();
if (cluster.isWorker) {
  await startWorker(config);
} else if (config.workers > 1) {
  await startPrimary(config);
} else {
  const database = await openDatabaseOrExit(config);
  const firstKey = await bootstrapDevelopmentKey(database.orm.em.fork());
  const port = await serve(config, database);
  printBanner(config, database, port, firstKey);
}
