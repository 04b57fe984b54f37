import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { chooseSpawnMode, initialise, nativeDirectory, openToPostgresUser, startServer } from './embedded-process.ts';

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
 * listening on a free loopback port and on a Unix socket in that directory, which its URL names. As
 * root it runs as the `postgres` user (see embedded-process.ts for how it reaches a data directory or
 * binaries below a private directory).
 */
export async function startEmbeddedDatabase(dataDir: string, options: { log?: (line: string) => void; port?: number; maxConnections?: number } = {}): Promise<EmbeddedDatabase> {
  await mkdir(dataDir, { recursive: true });
  await openToPostgresUser(dataDir);
  const realDataDir = await realpath(dataDir);
  const pgData = path.join(realDataDir, 'postgres');

  const existing = await runningPort(pgData);
  if (existing !== null) {
    const { user, password } = await credentials(realDataDir);
    const socket = existsSync(socketPath(pgData, existing)) ? pgData : null;
    return { url: databaseUrl(user, password, existing, socket), stop: async () => {} };
  }

  const native = await nativeDirectory();
  const mode = await chooseSpawnMode(native, realDataDir);
  const { user, password } = await credentials(realDataDir);
  const log = options.log ?? (() => {});
  const locations = { native, pgData };
  if (!existsSync(path.join(pgData, 'PG_VERSION'))) await initialise(mode, locations, user, password, log);
  const port = options.port ?? (await freePort());
  const socket = Buffer.byteLength(socketPath(pgData, port)) <= MAX_SOCKET_PATH ? pgData : null;
  const server = await startServer(mode, locations, { port, socket: socket !== null, maxConnections: options.maxConnections }, log);
  return { url: databaseUrl(user, password, port, socket), stop: () => server.stop() };
}

/** The longest path a Unix socket address holds (sun_path is 108 bytes on Linux, with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

function socketPath(directory: string, port: number): string {
  return path.join(directory, `.s.PGSQL.${port}`);
}

/**
 * Through the Unix socket in the data directory when there is one: a statement's round trip costs
 * the client about half the CPU it costs over loopback TCP (bench/RESULTS.md), and every request
 * makes one or more. Over 127.0.0.1 when the directory's path is too long for a socket address.
 */
function databaseUrl(user: string, password: string, port: number, socketDirectory: string | null): string {
  const host = socketDirectory === null ? '127.0.0.1' : encodeURIComponent(socketDirectory);
  return `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/postgres`;
}
