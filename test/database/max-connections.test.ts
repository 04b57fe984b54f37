import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WORKERS } from '../../src/config.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../src/database/embedded.ts';
import { embeddedMaxConnections } from '../../src/database/open.ts';
import { runSql } from '../helpers/sql.ts';

// WORKERS=N: every worker fills a pool of 10 connections and holds one for revocations; the embedded
// PostgreSQL must accept them all, or requests fail with "too many clients" under load.

describe('the connections the embedded PostgreSQL accepts for WORKERS', () => {
  it("leaves PostgreSQL's own setting alone for one process and for a few workers", () => {
    expect([1, 2, 4].map(embeddedMaxConnections)).toEqual([undefined, undefined, undefined]);
  });

  it('makes room for the pool and revocation listener of every worker and of the primary, plus ten, with many workers', () => {
    expect(embeddedMaxConnections(8)).toBe(9 * 11 + 10);
    expect(embeddedMaxConnections(MAX_WORKERS)).toBe((MAX_WORKERS + 1) * 11 + 10);
  });
});

describe('the embedded PostgreSQL started with maxConnections', () => {
  let dataDir: string;
  let database: EmbeddedDatabase;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-connections-'));
    database = await startEmbeddedDatabase(dataDir, { maxConnections: embeddedMaxConnections(MAX_WORKERS) });
  }, 60_000);

  afterAll(async () => {
    await database?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs with that max_connections', async () => {
    expect(await runSql(database.url, 'show max_connections')).toEqual([{ max_connections: String(embeddedMaxConnections(MAX_WORKERS)) }]);
  });
});
