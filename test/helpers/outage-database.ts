import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/database/embedded.ts';

/** A PostgreSQL of a test file's own, which the test stops and starts again on the same port. */
export interface StoppableDatabase {
  url: string;
  port: number;
  dataDir: string;
  /** Stops PostgreSQL (a fast shutdown: open connections are cut). */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  restart(): Promise<void>;
  /** Stops it if it runs and deletes its files. */
  destroy(): Promise<void>;
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
    async destroy() {
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
