import { MikroORM, type Options } from '@mikro-orm/postgresql';
import config from '../../mikro-orm.config.ts';

export type { MikroORM };

/** Connects to `url` with the project's entities and migrations; `overrides` serve tests (query counting). */
export async function connectOrm(url: string, overrides: Partial<Options> = {}): Promise<MikroORM> {
  return await MikroORM.init({ ...config, clientUrl: url, ...overrides });
}

/**
 * Applies every committed migration that has not run yet. A migration may rewrite a large table,
 * so it runs on a connection of its own, without the request path's statement timeouts.
 */
export async function migrate(orm: MikroORM): Promise<void> {
  const migrator = await MikroORM.init({ ...config, clientUrl: orm.config.get('clientUrl'), pool: { min: 0, max: 1 }, driverOptions: {} });
  try {
    await migrator.migrator.up();
  } finally {
    await migrator.close(true);
  }
}
