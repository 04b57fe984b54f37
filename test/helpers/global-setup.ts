import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase } from '../../src/database/embedded.ts';
import { DatabaseStartError } from '../../src/database/open.ts';
import { connectOrm, migrate } from '../../src/database/orm.ts';

export const TEMPLATE_DATABASE = 'feedback_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server on which test files create their databases (CREATE DATABASE … TEMPLATE). */
    serverUrl: string;
  }
}

/** Starts one PostgreSQL for the run (DATABASE_URL's server when set) and migrates the template database. */
export default async function setup(project: TestProject) {
  let serverUrl = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!serverUrl) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'feedback-test-'));
    const database = await startEmbeddedDatabase(dataDir).catch(async (error: unknown) => {
      await rm(dataDir, { recursive: true, force: true });
      // A problem of the machine (say, PostgreSQL's user cannot reach the clone), not of a test: its
      // one line, as `npm start` prints it (vitest would bury it under "No test files found").
      console.error(new DatabaseStartError(error).message);
      process.exit(1);
    });
    serverUrl = database.url;
    stop = async () => {
      await database.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DATABASE}`);
  await admin.query(`create database ${TEMPLATE_DATABASE}`);
  await admin.end();

  const orm = await connectOrm(databaseUrl(serverUrl, TEMPLATE_DATABASE));
  await migrate(orm);
  await orm.close();

  project.provide('serverUrl', serverUrl);
  return stop;
}

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
