import { MikroORM, type Options } from '@mikro-orm/postgresql';
import config from '../../mikro-orm.config.ts';

export type { MikroORM };

/** Connects to `url` with the project's entities and migrations; `overrides` serve tests (query counting). */
export async function connectOrm(url: string, overrides: Partial<Options> = {}): Promise<MikroORM> {
  return await MikroORM.init({ ...config, clientUrl: url, ...overrides });
}

/** Applies every committed migration that has not run yet. */
export async function migrate(orm: MikroORM): Promise<void> {
  await orm.migrator.up();
}
