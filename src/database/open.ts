import type { Config } from '../config.ts';
import { startEmbeddedDatabase } from './embedded.ts';
import { connectOrm, migrate, type MikroORM } from './orm.ts';

/** The database could not be started or reached; the message is one line for the operator. */
export class DatabaseStartError extends Error {
  constructor(cause: unknown) {
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    super(`Cannot open the database: ${reason || 'unknown error'}`, { cause });
  }
}

export interface Database {
  orm: MikroORM;
  /** Where the data lives, for the start-up banner: the external URL's host or the embedded data directory. */
  description: string;
  close(): Promise<void>;
}

/** DATABASE_URL when set, else the embedded PostgreSQL in DATA_DIR; migrated either way. */
export async function openDatabase(config: Config, options: { log?: (line: string) => void } = {}): Promise<Database> {
  if (config.databaseUrl) {
    const orm = await connectOrm(config.databaseUrl);
    await migrate(orm);
    return { orm, description: `PostgreSQL at ${new URL(config.databaseUrl).host}`, close: () => orm.close() };
  }
  const embedded = await startEmbeddedDatabase(config.dataDir, options);
  try {
    const orm = await connectOrm(embedded.url);
    await migrate(orm);
    return {
      orm,
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
