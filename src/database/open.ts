import ormConfig from '../../mikro-orm.config.ts';
import type { Config } from '../config.ts';
import { startEmbeddedDatabase } from './embedded.ts';
import { connectOrm, migrate, type MikroORM } from './orm.ts';

/** PostgreSQL's own default, enough for a few server processes. */
const DEFAULT_MAX_CONNECTIONS = 100;

/** The database could not be started or reached; the message is one line for the operator. */
export class DatabaseStartError extends Error {
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(`Cannot open the database: ${reason || 'unknown error'}`, { cause });
  }
}

export interface Database {
  orm: MikroORM;
  /** The connection URL, for the worker processes that share this database. */
  url: string;
  /** Where the data lives, for the start-up banner: the external URL's host or the embedded data directory. */
  description: string;
  close(): Promise<void>;
}

/**
 * Connections the embedded PostgreSQL must accept when `workers` server processes and the primary
 * each fill their pool and hold a revocation listener, plus a few for the keys CLI and an operator;
 * undefined when PostgreSQL's default is enough, so a setting of one's own in DATA_DIR still counts.
 */
export function embeddedMaxConnections(workers: number): number | undefined {
  const perProcess = (ormConfig.pool?.max ?? 10) + 1;
  const needed = (workers + 1) * perProcess + 10;
  return workers > 1 && needed > DEFAULT_MAX_CONNECTIONS ? needed : undefined;
}

/** DATABASE_URL when set, else the embedded PostgreSQL in DATA_DIR; migrated either way. */
export async function openDatabase(config: Config, options: { log?: (line: string) => void } = {}): Promise<Database> {
  if (config.databaseUrl) {
    const orm = await connectOrm(config.databaseUrl);
    await migrate(orm);
    return { orm, url: config.databaseUrl, description: `PostgreSQL at ${new URL(config.databaseUrl).host}`, close: () => orm.close() };
  }
  const embedded = await startEmbeddedDatabase(config.dataDir, { ...options, maxConnections: embeddedMaxConnections(config.workers) });
  try {
    const orm = await connectOrm(embedded.url);
    await migrate(orm);
    return {
      orm,
      url: embedded.url,
      description: `embedded PostgreSQL in ${config.dataDir}`,
      close: async () => {
        await orm.close();
        await embedded.stop();
      },
    };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}
