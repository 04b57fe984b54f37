import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/database/embedded.ts';

/** A PostgreSQL of a test file's own, which the test stops and starts again on the same port, or freezes. */
export interface StoppableDatabase {
  url: string;
  port: number;
  dataDir: string;
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

export async function startStoppableDatabase(): Promise<StoppableDatabase> {
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
  let frozen: number[] = [];
  const thaw = async () => {
    for (const pid of frozen) signal(pid, 'SIGCONT');
    frozen = [];
  };
  return {
    url,
    port,
    dataDir,
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
