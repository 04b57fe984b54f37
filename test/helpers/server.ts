import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { type App, buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { connectOrm, type MikroORM } from '../../src/database/orm.ts';
import { type Scope, scopes as allScopes } from '../../src/organizations/scopes.ts';
import { createApiKey } from '../../src/organizations/tokens.ts';
import { databaseUrl, TEMPLATE_DATABASE } from './global-setup.ts';
import { type GraphQLReply, graphql, PUBLIC_URL } from './http.ts';

export interface TestServer {
  /** Base URL of the server, listening on a free loopback port. */
  url: string;
  app: App;
  orm: MikroORM;
  /** Creates an API key (and its organization) and returns the token. */
  createToken(organization: string, options?: { scopes?: readonly Scope[]; expiresAt?: Date | null }): Promise<string>;
  /** POSTs a GraphQL operation over real HTTP. */
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string | null, headers?: Record<string, string>): Promise<GraphQLReply<T>>;
  close(): Promise<void>;
}

/** Creates this file's own database from the migrated template. */
export async function createDatabase(serverUrl: string = inject('serverUrl')): Promise<string> {
  const name = `test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(serverUrl, name);
}

/** Creates an API key (and its organization, if new) with every scope unless told, and returns the token. */
export async function createToken(orm: MikroORM, organization: string, options: { scopes?: readonly Scope[]; expiresAt?: Date | null } = {}): Promise<string> {
  const { token } = await createApiKey(orm.em.fork(), organization, options.scopes ?? allScopes, options.expiresAt ?? null);
  return token;
}

export interface TestDatabase {
  url: string;
  /** An ORM of the test's own on the database, to create tokens and read state back; the test closes it. */
  orm: MikroORM;
  createToken(organization: string): Promise<string>;
}

/** This file's own database with an ORM on it, for servers that run as processes of their own. */
export async function openTestDatabase(): Promise<TestDatabase> {
  const url = await createDatabase();
  const orm = await connectOrm(url);
  return { url, orm, createToken: (organization) => createToken(orm, organization) };
}

/**
 * This file's own database holding an organization and a token of every scope. Made before a server
 * process starts on it, the organization spares that process its first-start token.
 */
export async function createDatabaseWithToken(organization: string): Promise<{ databaseUrl: string; token: string }> {
  const database = await openTestDatabase();
  try {
    return { databaseUrl: database.url, token: await database.createToken(organization) };
  } finally {
    await database.orm.close();
  }
}

/** A real server on a real PostgreSQL database of its own, reached over HTTP. */
export async function startTestServer(
  env: Record<string, string> = {},
  appOptions: Parameters<typeof buildApp>[2] = {},
  ormOverrides: Parameters<typeof connectOrm>[1] = {},
): Promise<TestServer> {
  const url = await createDatabase(inject('serverUrl'));
  // Limits are out of reach unless a test sets them: suites send far more than 100 requests a
  // minute, and some send bursts of more concurrent requests than a process admits by default
  // (requests are still counted in and out).
  const config = loadConfig({
    DATABASE_URL: url,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    PUBLIC_URL,
    RATE_LIMIT_PER_MINUTE: '0',
    MAX_CONCURRENT_REQUESTS: '10000',
    ...env,
  });
  const orm = await connectOrm(url, ormOverrides);
  const app = await buildApp(config, orm, appOptions);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    url: base,
    app,
    orm,
    createToken(organization, options = {}) {
      return createToken(orm, organization, options);
    },
    graphql(query, variables = {}, token = null, headers = {}) {
      return graphql(base, query, variables, { token, headers });
    },
    async close() {
      await app.close();
      await orm.close();
    },
  };
}
