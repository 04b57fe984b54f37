import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type App, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/database/embedded.ts';
import { connectOrm, type MikroORM, migrate } from '../../src/database/orm.ts';
import { PUBLIC_URL } from './http.ts';
import { createToken } from './server.ts';

/** A PostgreSQL of a test file's own, which the test stops and starts again on the same port, or freezes. */
export interface StoppableDatabase {
  url: string;
  port: number;
  dataDir: string;
  /** A token of every scope of the organization the database was started with. */
  token: string;
  /** Stops PostgreSQL (a fast shutdown: open connections are cut). */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  restart(): Promise<void>;
  /**
   * SIGSTOPs the postmaster and every backend: the server still accepts TCP connections (the
   * kernel completes the handshakes) but answers nothing, like a stalled host.
   */
  freeze(): Promise<void>;
  /** SIGCONTs every process freeze() stopped. */
  thaw(): Promise<void>;
  /** Thaws and stops it if it runs, and deletes its files. */
  destroy(): Promise<void>;
}

/** The processes whose parent is `pid`, from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // The parent pid is the second field after the command name, which is in parentheses and may hold spaces.
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === pid) children.push(Number(entry));
  }
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // A backend that exited meanwhile needs no signal.
  }
}

/** Starts a PostgreSQL of its own, migrated, holding `organization` and a token of it. */
export async function startStoppableDatabase(organization: string): Promise<StoppableDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-outage-'));
  let running: EmbeddedDatabase | null = null;
  try {
    running = await startEmbeddedDatabase(dataDir);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const url = running.url;
  const port = Number(new URL(url).port);
  let token: string;
  try {
    const orm = await connectOrm(url);
    try {
      await migrate(orm);
      token = await createToken(orm, organization);
    } finally {
      await orm.close(true);
    }
  } catch (error) {
    await running.stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  let frozen: number[] = [];
  const thaw = async () => {
    for (const pid of frozen) signal(pid, 'SIGCONT');
    frozen = [];
  };
  return {
    url,
    port,
    dataDir,
    token,
    async stop() {
      const database = running;
      running = null;
      await database?.stop();
    },
    async restart() {
      if (running) return;
      running = await startEmbeddedDatabase(dataDir, { port });
      if (running.url !== url) throw new Error(`the database came back at ${running.url}, not ${url}`);
    },
    async freeze() {
      const pidFile = await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8');
      const postmaster = Number(pidFile.split('\n')[0]);
      // The postmaster first, so it forks no backend that the list below would miss.
      process.kill(postmaster, 'SIGSTOP');
      frozen = [postmaster, ...(await childrenOf(postmaster))];
      for (const pid of frozen) signal(pid, 'SIGSTOP');
    },
    thaw,
    async destroy() {
      await thaw();
      const database = running;
      running = null;
      try {
        await database?.stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** A server in this process on a stoppable database of its own (see startStoppableDatabase). */
export interface OutageServer {
  database: StoppableDatabase;
  /** Base URL of the server, listening on a free loopback port. */
  url: string;
  app: App;
  orm: MikroORM;
  token: string;
  /** Thaws the database, closes the server and its ORM and destroys the database; each step runs even when an earlier one fails, so no PostgreSQL outlives the file. */
  close(): Promise<void>;
}

export async function startOutageServer(organization: string): Promise<OutageServer> {
  const database = await startStoppableDatabase(organization);
  let orm: MikroORM | undefined;
  let app: App | undefined;
  const close = async () => {
    const steps = [() => database.thaw(), () => app?.close(), () => orm?.close(true), () => database.destroy()];
    const failures: unknown[] = [];
    for (const step of steps) await Promise.resolve(step()).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };
  try {
    orm = await connectOrm(database.url);
    const config = loadConfig({ DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', PUBLIC_URL, RATE_LIMIT_PER_MINUTE: '0' });
    app = await buildApp(config, orm);
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { database, url, app, orm, token: database.token, close };
}
