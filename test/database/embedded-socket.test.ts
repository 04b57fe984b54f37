import { statSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/database/embedded.ts';
import { connectOrm } from '../../src/database/orm.ts';
import { runSql } from '../helpers/sql.ts';

// The embedded PostgreSQL is reached through a Unix socket in its data directory (a round trip costs
// less than over loopback TCP), and over 127.0.0.1 when that directory's path is too long for one.

const started: { root: string; database: EmbeddedDatabase }[] = [];

/** Starts a database in `below` (a path) inside a fresh temporary directory. */
async function start(below = ''): Promise<{ dataDir: string; database: EmbeddedDatabase }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'feedback-socket-'));
  const dataDir = path.join(root, below);
  await mkdir(dataDir, { recursive: true });
  const database = await startEmbeddedDatabase(dataDir);
  started.push({ root, database });
  return { dataDir, database };
}

afterAll(async () => {
  for (const { root, database } of started) {
    await database.stop();
    await rm(root, { recursive: true, force: true });
  }
});

/** The address the server sees the session come from: null over a Unix socket. */
const serverAddress = async (url: string) => (await runSql<{ address: string | null }>(url, 'select host(inet_server_addr()) as "address"'))[0]?.address;

describe('the embedded PostgreSQL', () => {
  it('is reached through a socket in its data directory that only its own user may use, by the driver and the ORM alike', async () => {
    const { dataDir, database } = await start();
    const url = new URL(database.url);
    const pgData = path.join(await realpath(dataDir), 'postgres');
    expect(decodeURIComponent(url.hostname)).toBe(pgData);
    const socket = statSync(path.join(pgData, `.s.PGSQL.${url.port}`));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o700);
    expect(await serverAddress(database.url)).toBeNull();

    const orm = await connectOrm(database.url);
    try {
      expect(await orm.em.getConnection().execute('select host(inet_server_addr()) as "address"')).toEqual([{ address: null }]);
    } finally {
      await orm.close();
    }
    // A second process on the same directory finds the running server and its socket.
    expect((await startEmbeddedDatabase(dataDir)).url).toBe(database.url);
  }, 60_000);

  it('is reached over 127.0.0.1 when the socket\'s path would be too long for a socket address', async () => {
    const { database } = await start('a-directory-name-long-enough'.repeat(3));
    expect(new URL(database.url).hostname).toBe('127.0.0.1');
    expect(await serverAddress(database.url)).toBe('127.0.0.1');
  }, 60_000);
});
