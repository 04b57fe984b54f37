/**
 * `npm run migration:create -- <name>`: diffs the entities against the committed snapshot and writes
 * the next migration. It runs against a throwaway embedded PostgreSQL, so no database is needed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedDatabase } from './embedded.ts';
import { connectOrm, migrate } from './orm.ts';

const name = process.argv[2];
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-migration-'));
const database = await startEmbeddedDatabase(dataDir);
try {
  const orm = await connectOrm(database.url);
  await migrate(orm);
  const result = await orm.migrator.create(undefined, false, false, name);
  console.log(result.fileName ? `Created ${result.fileName}` : 'No changes: the schema matches the entities.');
  await orm.close();
} finally {
  await database.stop();
  await rm(dataDir, { recursive: true, force: true });
}
